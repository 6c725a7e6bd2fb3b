import CIMSimulator
import Foundation
import Models
import Quantization
import TensorEngine
import XCTest

/// The 8-bit crossbar datapath of the FP32 layers (`map_fp32_layers`) against a brute-force 8-bit integer layer,
/// and against the FP32 layer itself.
final class MultiBitDatapathTests: XCTestCase {
    /// A signed input (a normalised image has negative values).
    func signed(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed)
        let x = Tensor(shape: shape)
        for i in 0..<x.count { x.data[i] = rng.normal() }
        return x
    }

    /// y = s_c·s_x·Σ W_q·(u − z) + bias with the quantization rules of `MultiBitCrossbarDatapath`, in Double.
    func reference(conv: Conv2d, x: Tensor) -> [Double] {
        let g = ConvGeometry(channels: conv.inChannels, height: x.shape[2], width: x.shape[3], kernel: conv.kernel,
                             stride: conv.stride, padding: conv.padding)
        let K = g.columnRows, M = conv.outChannels, P = g.outPixels, n = x.shape[0], per = x.count / n
        let w = conv.weight.value
        var out = [Double](repeating: 0, count: n * M * P)
        let col = UnsafeMutablePointer<Float>.allocate(capacity: K * P)
        defer { col.deallocate() }
        for i in 0..<n {
            let xi = x.data + i * per
            var lo: Float = 0, hi: Float = 0
            for t in 0..<per { lo = min(lo, xi[t]); hi = max(hi, xi[t]) }
            let sx = (hi - lo) / 255, z = (-lo / sx).rounded()
            Im2col.forward(g, x: xi, col: col, ld: P)
            for c in 0..<M {
                let m = (0..<K).map { abs(w[c * K + $0]) }.max()!
                let s = m / 127
                for p in 0..<P {
                    var dot = 0.0
                    for r in 0..<K {
                        let q = Double(min(max((w[c * K + r] / s).rounded(), -127), 127))
                        let u = Double(min(max((col[r * P + p] / sx).rounded() + z, 0), 255))
                        dot += q * (u - Double(z))
                    }
                    out[(i * M + c) * P + p] = Double(s) * Double(sx) * dot + Double(conv.bias!.value[c])
                }
            }
        }
        return out
    }

    func testIdealChipIsTheEightBitIntegerLayerAndCloseToFP32() throws {
        let store = ParameterStore()
        let conv = Conv2d(store, "conv1", inChannels: 3, outChannels: 5, kernel: 3, padding: 1, bias: true)
        store.finalize()
        var rng = RNG(seed: 5)
        conv.initialize(rng: &rng)
        for c in 0..<5 { conv.bias!.value[c] = 0.1 * Float(c) }
        let x = signed([2, 3, 6, 5], seed: 6)
        let fp32 = conv.forward(x, training: false).planarArray
        var c = CIMConfig()
        c.adcBits = 8  // 255 levels >= 27 rows: lossless
        let chip = MultiBitCrossbarDatapath(config: c, layerIndex: 0)
        conv.datapath = chip
        let hw = conv.forward(x, training: false).planarArray
        XCTAssertEqual(conv.path, .datapath(channelsLast: true))
        EngineContext.threads = 2  // images in parallel: the same numbers
        XCTAssertEqual(conv.forward(x, training: false).planarArray, hw)
        chip.writesChannelsLast = false  // the same values in NCHW
        XCTAssertEqual(conv.forward(x, training: false).planarArray, hw)
        XCTAssertEqual(conv.path, .datapath(channelsLast: false))
        EngineContext.threads = 1
        conv.datapath = nil
        let want = reference(conv: conv, x: x)
        let scale = want.map(abs).max()!
        for i in hw.indices { XCTAssertEqual(Double(hw[i]), want[i], accuracy: 1e-5 * scale, "8-bit integer layer, \(i)") }
        var err = 0.0
        for i in hw.indices { err = max(err, abs(Double(hw[i] - fp32[i]))) }
        XCTAssertLessThan(err, 0.03 * scale, "8-bit weights and inputs stay close to the FP32 layer")
        XCTAssertGreaterThan(err, 0, "but are not the FP32 layer")
        // A lossy ADC changes the result; without map_fp32_layers the layer stays in software.
        c.adcBits = 3
        conv.datapath = MultiBitCrossbarDatapath(config: c, layerIndex: 0)
        XCTAssertNotEqual(conv.forward(x, training: false).array, hw)
        conv.datapath = nil
    }

    /// An ideal chip with a lossless ADC runs the layer as the 8-bit integer GEMM (`runsIntegerLayer`): bit for bit
    /// the bit-serial route's y — 3x3, 1x1 and 5x5 convolutions with and without padding and stride, a linear layer,
    /// both output layouts, one and two threads; a lossy ADC or a leaky cell keeps the bit-serial route.
    func testIntegerRouteIsTheBitSerialRouteBitForBit() throws {
        guard IntegerGEMM.isAvailable else { throw XCTSkip("no int8 GEMM here (oneDNN ISA \(DNNL.isaName))") }
        defer { EngineContext.threads = 1 }
        let cases: [(cin: Int, cout: Int, kernel: Int, stride: Int, pad: Int, hw: Int)] = [
            (3, 16, 3, 1, 1, 9), (3, 8, 3, 2, 1, 11), (5, 7, 1, 1, 0, 4), (4, 6, 5, 1, 2, 7), (12, 10, 0, 0, 0, 0),
        ]
        for (k, t) in cases.enumerated() {
            let store = ParameterStore()
            let layer: Layer = t.kernel > 0
                ? Conv2d(store, "c", inChannels: t.cin, outChannels: t.cout, kernel: t.kernel, stride: t.stride,
                         padding: t.pad, bias: true)
                : Linear(store, "fc", inFeatures: t.cin, outFeatures: t.cout)
            store.finalize()
            var rng = RNG(seed: UInt64(10 + k))
            layer.initialize(rng: &rng)
            let x = signed(t.kernel > 0 ? [3, t.cin, t.hw, t.hw] : [3, t.cin], seed: UInt64(20 + k))
            var c = CIMConfig()
            c.adcBits = 8
            for (threads, channelsLast) in [(1, true), (2, false)] {
                EngineContext.threads = threads
                var outputs: [[UInt32]] = []
                for integer in [true, false] {
                    let chip = MultiBitCrossbarDatapath(config: c, layerIndex: 0)
                    chip.runsIntegerLayer = integer
                    chip.writesChannelsLast = channelsLast
                    (layer as? Conv2d)?.datapath = chip
                    (layer as? Linear)?.datapath = chip
                    outputs.append(layer.forward(x, training: false).array.map(\.bitPattern))
                    XCTAssertEqual(chip.ranIntegerLayer, integer, "case \(k)")
                }
                XCTAssertEqual(outputs[0], outputs[1], "case \(k), \(threads) threads")
                XCTAssertTrue(outputs[0].contains { Float(bitPattern: $0) != 0 }, "case \(k)")
            }
        }
        // A lossy ADC, or cells that leak, keep the bit-serial route.
        for lossy in [true, false] {
            var c = CIMConfig()
            if lossy { c.adcBits = 3 } else { c.adcBits = 8; c.onOffRatio = 10 }
            let store = ParameterStore()
            let conv = Conv2d(store, "c", inChannels: 3, outChannels: 4, kernel: 3, padding: 1)
            store.finalize()
            var rng = RNG(seed: 3)
            conv.initialize(rng: &rng)
            let chip = MultiBitCrossbarDatapath(config: c, layerIndex: 0)
            conv.datapath = chip
            _ = conv.forward(signed([1, 3, 5, 5], seed: 4), training: false)
            XCTAssertFalse(chip.ranIntegerLayer, lossy ? "lossy ADC" : "leaky cells")
        }
    }

    func testAttachPutsTheFP32LayersOnTheChipWhenTheyAreMapped() throws {
        let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4)
        let model = try ModelZoo.make("smallcnn", inputShape: [1, 12, 12], numClasses: 10, quant: policy)
        var c = CIMConfig()
        let all = HardwareAwareInference.attach(to: model, config: c)
        HardwareAwareInference.detach(from: model)
        c.mapFP32Layers = false
        let binary = HardwareAwareInference.attach(to: model, config: c)
        HardwareAwareInference.detach(from: model)
        XCTAssertEqual(all.count, binary.count + 2, "the first and last layers too: \(all) vs \(binary)")
        XCTAssertEqual(Set(all).subtracting(binary).count, 2)
    }

    /// The 16-lane input codes are the scalar rule clamp(round(x/s) + z, 0, 255) with `rounded()`'s ties away
    /// from zero: random values of both signs, exact ties on both sides of zero, values past both ends.
    func testInputCodesRoundHalfAwayFromZero() {
        var rng = RNG(seed: 9)
        let s: Float = 0.0371, z: Float = 97, n = 16 * 30 + 5
        var x = (0..<n).map { _ in (rng.uniform() * 2 - 1) * 6 }
        for i in stride(from: 0, to: n, by: 4) { x[i] = (Float(i % 40) - 20 + 0.5) * s }  // ties, ± (x/s exact?)
        x[1] = 200 * s; x[2] = -200 * s
        var got = [Float](repeating: -1, count: n)
        MultiBitCrossbarDatapath.codes(x, n, step: s, zero: z, into: &got)
        var ties = 0
        for i in 0..<n {
            let v = x[i] / s
            if v - v.rounded(.towardZero) == 0.5 || v - v.rounded(.towardZero) == -0.5 { ties += 1 }
            XCTAssertEqual(got[i], Swift.min(Swift.max(v.rounded() + z, 0), 255), "x \(x[i])")
        }
        XCTAssertGreaterThan(ties, 20, "the test must see ties")
    }
}
