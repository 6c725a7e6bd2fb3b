import CIMSimulator
import Foundation
import Models
import Quantization
import TensorEngine
import XCTest

/// The bit-plane / subarray / ADC datapath against a scalar reference, and the hardware-aware layers against the
/// software quantized layers.
final class CrossbarTests: XCTestCase {
    /// Scalar reference of `CrossbarArray.accumulate`: per tile, per bit-plane, per column, the sum in Double, the
    /// ADC's code, the shift-add of the codes in Int, and the step times the total.
    func reference(_ a: CrossbarArray, codes: [Int], P: Int, bits: Int, tile: Int, adc: ADCQuantizer) -> [Float] {
        var acc = [Float](repeating: 0, count: a.columns * P)
        for c in 0..<a.columns {
            for p in 0..<P {
                var r0 = 0, total = 0
                while r0 < a.rows {
                    let r1 = min(r0 + tile, a.rows)
                    for j in 0..<bits {
                        var s = 0.0
                        for r in r0..<r1 where (codes[r * P + p] >> j) & 1 == 1 {
                            s += Double(a.conductance[c * a.rows + r])
                        }
                        total += (1 << j) * Int(adc.code(Float(s)))
                    }
                    r0 = r1
                }
                acc[c * P + p] = Float(total) * adc.step
            }
        }
        return acc
    }

    func run(_ a: CrossbarArray, codes: [Int], P: Int, bits: Int, tile: Int, adc: ADCQuantizer) -> [Float] {
        var acc = [Float](repeating: .nan, count: a.columns * P)
        var scratch = [Float](repeating: 0, count: a.scratchCount(positions: P, bits: bits))
        let c = codes.map(Float.init)
        a.accumulate(codes: c, positions: P, bits: bits, tileRows: tile, adc: adc, into: &acc, scratch: &scratch)
        return acc
    }

    func randomArray(rows: Int, out: Int, config: CIMConfig, seed: UInt64) -> ([Bool], CrossbarArray) {
        var rng = RNG(seed: seed)
        let on = (0..<(rows * out)).map { _ in rng.uniform() < 0.5 }
        return (on, CrossbarArray(on: on, outChannels: out, rows: rows, config: config, stream: 7))
    }

    func testIdealArrayWithALosslessADCComputesTheExactIntegerDotProducts() {
        var c = CIMConfig()
        c.adcBits = 6  // 63 levels >= 40 rows per tile: lossless
        let rows = 150, out = 9, P = 13, bits = 4, tile = 40
        let (on, a) = randomArray(rows: rows, out: out, config: c, seed: 3)
        XCTAssertTrue(a.isIdeal)
        var rng = RNG(seed: 4)
        let codes = (0..<(rows * P)).map { _ in rng.below(1 << bits) }
        let adc = ADCQuantizer(bits: c.adcBits, rows: tile, range: 1)
        XCTAssertTrue(adc.isLossless(rows: tile))
        let acc = run(a, codes: codes, P: P, bits: bits, tile: tile, adc: adc)
        for p in 0..<P {
            var sumQ = 0
            for r in 0..<rows { sumQ += codes[r * P + p] }
            XCTAssertEqual(acc[out * P + p], Float(sumQ), "reference column = Σq exactly")
            for ch in 0..<out {
                var dot = 0
                for r in 0..<rows { dot += codes[r * P + p] * (on[ch * rows + r] ? 1 : -1) }
                XCTAssertEqual(2 * acc[ch * P + p] - acc[out * P + p], Float(dot), "Σ q·B exactly (channel \(ch))")
            }
        }
    }

    func testLossyADCAndDeviceEffectsMatchTheScalarReference() {
        var c = CIMConfig()
        c.adcBits = 3; c.variation = 0.2; c.stuckAt0 = 0.05; c.stuckAt1 = 0.03; c.device = .rram
        let rows = 100, out = 6, P = 11, bits = 3, tile = 32
        let (_, a) = randomArray(rows: rows, out: out, config: c, seed: 5)
        XCTAssertFalse(a.isIdeal)
        XCTAssert(a.conductance.contains { $0 != 0 && $0 != 1 }, "variation and the finite on/off ratio apply")
        var rng = RNG(seed: 6)
        let codes = (0..<(rows * P)).map { _ in rng.below(1 << bits) }
        let adc = ADCQuantizer(bits: c.adcBits, rows: tile, range: 1)
        XCTAssertFalse(adc.isLossless(rows: tile))
        let got = run(a, codes: codes, P: P, bits: bits, tile: tile, adc: adc)
        let want = reference(a, codes: codes, P: P, bits: bits, tile: tile, adc: adc)
        // BLAS sums in another order: a sum within a few ulps of an ADC threshold may round the other way (one ADC
        // step, times the bit weight). Everything else is equal to Float precision.
        var exact = 0
        for i in 0..<got.count {
            let d = abs(Double(got[i]) - Double(want[i]))
            if d < 1e-3 { exact += 1 } else {
                XCTAssertLessThanOrEqual(d, Double(adc.step) * Double(1 << (bits - 1)) + 1e-3, "entry \(i)")
            }
        }
        XCTAssertGreaterThanOrEqual(exact, got.count * 98 / 100)
    }

    /// Ideal cells: integer sums, so even a lossy ADC must agree exactly with the scalar reference — this exercises
    /// the packed two-planes-per-GEMM path for every bit width (odd widths leave one plane unpaired).
    func testIdealCellsWithALossyADCMatchTheReferenceExactly() {
        var c = CIMConfig()
        c.adcBits = 3
        for bits in 1...8 {
            let rows = 300, out = 5, P = 37, tile = 128
            let (_, a) = randomArray(rows: rows, out: out, config: c, seed: UInt64(bits))
            var rng = RNG(seed: UInt64(20 + bits))
            let codes = (0..<(rows * P)).map { _ in rng.below(1 << bits) }
            let adc = ADCQuantizer(bits: c.adcBits, rows: tile, range: 0.5)
            let got = run(a, codes: codes, P: P, bits: bits, tile: tile, adc: adc)
            let want = reference(a, codes: codes, P: P, bits: bits, tile: tile, adc: adc)
            XCTAssertEqual(got, want, "k = \(bits)")
        }
    }

    func testSameSeedSameChipOtherSeedOtherChip() {
        var c = CIMConfig()
        c.variation = 0.1; c.stuckAt1 = 0.1
        let (_, a) = randomArray(rows: 64, out: 4, config: c, seed: 1)
        let (_, b) = randomArray(rows: 64, out: 4, config: c, seed: 1)
        c.seed = 9
        let (_, d) = randomArray(rows: 64, out: 4, config: c, seed: 1)
        XCTAssertEqual(a.conductance, b.conductance)
        XCTAssertNotEqual(a.conductance, d.conductance)
    }

    /// An ideal chip's cells are the weights' signs exactly: 1 where B = +1, 0 elsewhere, the reference column all 1
    /// (an analog column or a digital popcount alike); and a chip with a finite on/off ratio is not built so.
    func testIdealCellsAreTheSigns() {
        var rng = RNG(seed: 77)
        let rows = 40, out = 6
        let on = (0..<(rows * out)).map { _ in rng.below(2) == 1 }
        for digital in [false, true] {
            let a = CrossbarArray(on: on, outChannels: out, rows: rows, config: CIMConfig(), stream: 3,
                                  digitalReference: digital)
            XCTAssertTrue(a.isIdeal)
            XCTAssertEqual(a.conductance, on.map { $0 ? 1 : 0 } + [Float](repeating: 1, count: rows))
        }
        var rram = CIMConfig()
        rram.device = .rram
        let leaky = CrossbarArray(on: on, outChannels: out, rows: rows, config: rram, stream: 3)
        XCTAssertFalse(leaky.isIdeal)
        XCTAssertEqual(leaky.conductance.filter { $0 == 0 }.count, 0, "off cells conduct")
    }

    func testADCTransferFunction() {
        let lossy = ADCQuantizer(bits: 3, rows: 128, range: 1)
        XCTAssertEqual(lossy.step, 128 / 7)
        XCTAssertEqual(lossy(0), 0)
        XCTAssertEqual(lossy(200), 7 * lossy.step, "clipped at full scale")
        XCTAssertEqual(lossy(lossy.step * 2.4), 2 * lossy.step)
        let fine = ADCQuantizer(bits: 8, rows: 128, range: 1)
        XCTAssertEqual(fine.step, 1)
        for s in 0...128 { XCTAssertEqual(fine(Float(s)), Float(s)) }
    }

    // MARK: - Layers and networks

    /// Inputs ≥ 0 (post-ReLU), then one training forward so the BWMA quantizer has a running range.
    func prepare(_ layer: Layer, _ x: Tensor) {
        _ = layer.forward(x, training: true)
    }

    func relu(_ shape: [Int], seed: UInt64) -> Tensor { TestLayers.reluInput(shape, seed: seed) }

    /// Ideal cells and a lossless ADC: the layer output is α·Δ·Σq·B + β·Δ·Σq + bias with exact integer sums;
    /// checked against that formula in Double (tight) and against the software kernel (Float rounding only).
    func checkIdealLayer(_ layer: QuantizableLayer, input x: Tensor, rows: Int, outChannels: Int, positions: Int) {
        prepare(layer, x)
        let sw = layer.forward(x, training: false).planarArray
        var c = CIMConfig()
        c.adcBits = 8  // 255 levels >= 128 rows
        layer.datapath = CrossbarDatapath(config: c, layerIndex: 0)
        let hw = layer.forward(x, training: false).planarArray
        layer.datapath = nil
        XCTAssertEqual(hw.count, sw.count)
        // Both round a sum of rows·(2ᵏ − 1) integer-valued terms differently (BLAS order vs exact integers): the
        // difference is bounded by a few Float ulps of the largest output.
        let scale = Double(sw.map { abs($0) }.max()!)
        var maxDiff = 0.0
        for i in 0..<hw.count { maxDiff = max(maxDiff, abs(Double(hw[i]) - Double(sw[i]))) }
        XCTAssertLessThan(maxDiff, 1e-5 * scale, "hardware-aware = software up to Float rounding")
        XCTAssertNotEqual(hw, [Float](repeating: 0, count: hw.count))
    }

    /// A 3x3 W1A4 convolution with bias, initialised from `seed`, checked by `checkIdealLayer` on a ReLU input.
    func checkIdealConv(inChannels cin: Int, outChannels cout: Int, height h: Int, width w: Int, seed: UInt64) throws {
        let (conv, store) = try TestLayers.binarizedConv(inChannels: cin, outChannels: cout, seed: seed)
        withExtendedLifetime(store) {
            checkIdealLayer(conv, input: relu([2, cin, h, w], seed: seed + 1), rows: 9 * cin, outChannels: cout,
                            positions: h * w)
        }
    }

    func testIdealConvEqualsTheSoftwareQuantizedConv() throws {
        try checkIdealConv(inChannels: 20, outChannels: 7, height: 6, width: 5, seed: 2)
    }

    /// Cin = 64 on 128-row subarrays: the kernel-split mapping (one subarray sums one kernel position's channels).
    /// The datapath permutes the cells and the im2col rows alike, so the ideal chip still equals the software conv.
    func testKernelSplitConvEqualsTheSoftwareQuantizedConv() throws {
        try checkIdealConv(inChannels: 64, outChannels: 5, height: 5, width: 4, seed: 12)
    }

    /// Row groups of any sizes (kernel-split groups) against the scalar reference summing the same groups, with a
    /// lossy ADC on ideal cells: exact. Grouping matters: the same cells in 128-row tiles give other sums.
    func testRowGroupsMatchTheReferenceAndChangeTheLossySums() {
        var c = CIMConfig()
        c.adcBits = 3
        let rows = 258, out = 4, P = 9, bits = 3
        let (_, a) = randomArray(rows: rows, out: out, config: c, seed: 21)
        var rng = RNG(seed: 22)
        let codes = (0..<(rows * P)).map { _ in rng.below(1 << bits) }
        let groups = [64, 64, 30, 100]
        let adc = ADCQuantizer(bits: c.adcBits, rows: 100, range: 1)
        var acc = [Float](repeating: .nan, count: a.columns * P)
        var scratch = [Float](repeating: 0, count: a.scratchCount(positions: P, bits: bits, tileRows: 100))
        a.accumulate(codes: codes.map(Float.init), positions: P, bits: bits, groups: groups, adc: adc, into: &acc,
                     scratch: &scratch)
        var want = [Float](repeating: 0, count: a.columns * P)
        for col in 0..<a.columns {
            for p in 0..<P {
                var r0 = 0, total = 0
                for g in groups {
                    for j in 0..<bits {
                        var sum = 0.0
                        for r in r0..<(r0 + g) where (codes[r * P + p] >> j) & 1 == 1 {
                            sum += Double(a.conductance[col * rows + r])
                        }
                        total += (1 << j) * Int(adc.code(Float(sum)))
                    }
                    r0 += g
                }
                want[col * P + p] = Float(total) * adc.step
            }
        }
        XCTAssertEqual(acc, want)
        XCTAssertNotEqual(run(a, codes: codes, P: P, bits: bits, tile: 128, adc: adc), want)
    }

    /// With no spare column the reference sum is a digital popcount: exact even with variation and a lossy ADC.
    func testDigitalReferenceIsExact() {
        var c = CIMConfig()
        c.adcBits = 3; c.variation = 0.3; c.device = .rram
        let rows = 70, out = 3, P = 5, bits = 2
        var rng = RNG(seed: 31)
        let on = (0..<(rows * out)).map { _ in rng.uniform() < 0.5 }
        let a = CrossbarArray(on: on, outChannels: out, rows: rows, config: c, stream: 1, digitalReference: true)
        let codes = (0..<(rows * P)).map { _ in rng.below(1 << bits) }
        let acc = run(a, codes: codes, P: P, bits: bits, tile: 32, adc: ADCQuantizer(bits: 3, rows: 32, range: 1))
        for p in 0..<P {
            XCTAssertEqual(acc[out * P + p], Float((0..<rows).map { codes[$0 * P + p] }.reduce(0, +)))
        }
    }

    func testIdealLinearEqualsTheSoftwareQuantizedLinear() throws {
        let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 3, perChannel: false)
        let store = ParameterStore()
        let fc = Linear(store, "f", inFeatures: 300, outFeatures: 5, quant: policy.spec(for: "f", role: .middle))
        store.finalize()
        var rng = RNG(seed: 4)
        fc.initialize(rng: &rng)
        checkIdealLayer(fc, input: relu([9, 300], seed: 5), rows: 300, outChannels: 5, positions: 1)
    }

    /// The exactness argument at the integer level, through the layer: Σq·B recovered from the datapath output
    /// equals the brute-force integer dot product of codes and signs.
    func testIdealDatapathRecoversTheIntegerDotProductsThroughTheLayer() throws {
        let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 2)
        let store = ParameterStore()
        let fc = Linear(store, "f", inFeatures: 200, outFeatures: 4, bias: false,
                        quant: policy.spec(for: "f", role: .middle))
        store.finalize()
        var rng = RNG(seed: 8)
        fc.initialize(rng: &rng)
        let x = relu([5, 200], seed: 9)
        prepare(fc, x)
        var c = CIMConfig()
        c.adcBits = 8
        let dp = CrossbarDatapath(config: c, layerIndex: 0)
        fc.datapath = dp
        let y = fc.forward(x, training: false).array
        let q = fc.quantization!, aq = q.inputQuantizer!
        // Recompute the codes and signs by hand.
        let xq = Tensor(shape: x.shape)
        aq.forward(y: xq.data, x: x.data, count: x.count, perSample: 200, training: false)
        var wq = [Float](repeating: 0, count: 800), scratch = wq
        var groups: [WeightBinarizer.Group] = []
        q.binarizer!.binarize(latent: fc.weight.value, count: 800, outChannels: 4, into: &wq, groups: &groups,
                              scratch: &scratch)
        XCTAssertEqual(groups.count, 4, "per-channel α, β")
        let array = try XCTUnwrap(dp.array)
        for n in 0..<5 {
            let codes = (0..<200).map { aq.code(ofQuantized: xq.data[n * 200 + $0]) }
            let sumQ = codes.reduce(0, +)
            for o in 0..<4 {
                let g = groups[o]
                var dot = 0
                for i in 0..<200 { dot += codes[i] * (wq[o * 200 + i] >= g.beta + g.alpha ? 1 : -1) }
                XCTAssertEqual(array.conductance[o * 200 + 0] == 1, wq[o * 200] >= g.beta + g.alpha)
                let want = Double(g.alpha) * Double(aq.quantizationStep) * Double(dot)
                    + Double(g.beta) * Double(aq.quantizationStep) * Double(sumQ)
                XCTAssertEqual(Double(y[n * 4 + o]), want, accuracy: 1e-5 * max(1, abs(want)))
            }
        }
    }

    /// The hook in a training forward (issue 8's use): forward goes through the crossbar, backward is the software
    /// backward (straight-through around the ADC and the devices): the same gradients as without the datapath.
    func testTrainingForwardThroughTheDatapathKeepsTheStraightThroughGradients() throws {
        let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4)
        let store = ParameterStore()
        let conv = Conv2d(store, "c", inChannels: 16, outChannels: 8, kernel: 3, padding: 1,
                          quant: policy.spec(for: "c", role: .middle))
        store.finalize()
        var rng = RNG(seed: 12)
        conv.initialize(rng: &rng)
        let x = relu([2, 16, 5, 5], seed: 13)
        let dy = Tensor(shape: [2, 8, 5, 5])
        for i in 0..<dy.count { dy.data[i] = rng.normal() }
        func step(_ datapath: LayerDatapath?) -> (y: [Float], dx: [Float], dw: [Float]) {
            conv.datapath = datapath
            store.zeroGrad()
            let y = conv.forward(x, training: true).array
            let dx = conv.backward(dy).array
            return (y, dx, conv.weight.grads)
        }
        let software = step(nil)
        var noisy = CIMConfig()
        noisy.adcBits = 3; noisy.variation = 0.2
        let hardware = step(CrossbarDatapath(config: noisy, layerIndex: 0))
        conv.datapath = nil
        XCTAssertNotEqual(hardware.y, software.y, "the forward went through the lossy crossbar")
        XCTAssertEqual(hardware.dx, software.dx)
        XCTAssertEqual(hardware.dw, software.dw)
    }

    /// A plain integer implementation of a binarized layer: codes × signs by nested Int loops over the unrolled
    /// input (no bit-planes, tiles, ADC, reference column or packing), then the datapath's digital step.
    final class IntegerReferenceDatapath: LayerDatapath {
        func forward(_ op: DatapathOperands, y raw: UnsafeMutableRawPointer) {
            let y = raw.assumingMemoryBound(to: Float.self)
            let q = op.quantization!, aq = q.inputQuantizer!, M = op.outChannels, K = op.rows
            let step = aq.quantizationStep, n = op.input.shape[0]
            let P = op.geometry?.outPixels ?? 1, perImage = op.input.count / n
            var cols = [Float](repeating: 0, count: K * P)
            for i in 0..<n {
                let codes = (0..<perImage).map { Float(aq.code(ofQuantized: op.input.data[i * perImage + $0])) }
                if let geo = op.geometry {
                    codes.withUnsafeBufferPointer { Im2col.forward(geo, x: $0.baseAddress!, col: &cols, ld: P) }
                } else {
                    cols = codes
                }
                for c in 0..<M {
                    let g = q.groups.count == M ? q.groups[c] : q.groups[0]
                    for p in 0..<P {
                        var dot = 0, sum = 0
                        for r in 0..<K {
                            let code = Int(cols[r * P + p])
                            sum += code
                            dot += op.weights[c * K + r] >= g.beta + g.alpha ? code : -code
                        }
                        let out = CrossbarDatapath.digitalOutput(
                            alphaStep: g.alpha * step, betaStep: g.beta * step, bias: op.bias?[c] ?? 0,
                            onSum: Float((dot + sum) / 2), inputSum: Float(sum))
                        if op.geometry == nil { y[i * M + c] = out } else { y[(i * M + c) * P + p] = out }
                    }
                }
            }
        }
    }

    /// The bit-exact mode, network level: with ideal cells and a lossless ADC the crossbar network produces bit for
    /// bit the logits of the integer software implementation of the quantized network (every layer's integer MACs
    /// are exact and the digital step is the same Float expression), through 18 binarized layers of ResNet-20. The
    /// FP32 layers stay in software here; mapped, they are the 8-bit integer layer (MultiBitDatapathTests).
    func testIdealChipEqualsTheIntegerQuantizedNetworkBitForBit() throws {
        let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4)
        let model = try ModelZoo.make("resnet20", inputShape: [1, 12, 12], numClasses: 10, seed: 5, quant: policy)
        var rng = RNG(seed: 21)
        let x = Tensor(shape: [6, 1, 12, 12])
        for i in 0..<x.count { x.data[i] = rng.normal() }
        _ = model.forward(x, training: true)
        var ideal = CIMConfig()
        ideal.adcBits = 8
        ideal.mapFP32Layers = false
        XCTAssertEqual(HardwareAwareInference.attach(to: model, config: ideal).count, 18)
        let hw = model.forward(x, training: false).array
        let layers = model.leaves.compactMap { $0 as? QuantizableLayer }.filter { $0.datapath != nil }
        for l in layers { l.datapath = IntegerReferenceDatapath() }
        let reference = model.forward(x, training: false).array
        HardwareAwareInference.detach(from: model)
        XCTAssertEqual(hw, reference)
        // A lossy ADC breaks it (so the comparison can fail).
        ideal.adcBits = 4
        HardwareAwareInference.attach(to: model, config: ideal)
        XCTAssertNotEqual(model.forward(x, training: false).array, reference)
        HardwareAwareInference.detach(from: model)
    }

    /// A whole network: ideal chip → the same predictions as the software quantized network; a noisy chip → different
    /// logits (the datapath is really in the loop).
    func testIdealChipReproducesTheNetworkAndNoiseChangesIt() throws {
        let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4)
        let model = try ModelZoo.make("smallcnn", inputShape: [1, 12, 12], numClasses: 10, seed: 3, quant: policy)
        var rng = RNG(seed: 10)
        let x = Tensor(shape: [16, 1, 12, 12])
        for i in 0..<x.count { x.data[i] = rng.normal() }
        _ = model.forward(x, training: true)
        let sw = model.forward(x, training: false).array
        var ideal = CIMConfig()
        ideal.adcBits = 8
        ideal.mapFP32Layers = false
        let names = HardwareAwareInference.attach(to: model, config: ideal)
        XCTAssertEqual(names, ["conv2", "fc1"], "first and last layer stay FP32")
        let hw = model.forward(x, training: false).array
        HardwareAwareInference.detach(from: model)
        func argmax(_ v: ArraySlice<Float>) -> Int { v.indices.max { v[$0] < v[$1] }! - v.startIndex }
        for n in 0..<16 {
            let s = sw[(n * 10)..<((n + 1) * 10)], h = hw[(n * 10)..<((n + 1) * 10)]
            for i in s.indices { XCTAssertEqual(h[i], s[i], accuracy: 1e-3 * max(1, abs(s[i]))) }
            XCTAssertEqual(argmax(h), argmax(s), "image \(n)")
        }
        // The first and last layers mapped too (8-bit weights and inputs): the same predictions, not the same logits.
        ideal.mapFP32Layers = true
        XCTAssertEqual(HardwareAwareInference.attach(to: model, config: ideal), ["conv1", "conv2", "fc1", "fc2"])
        let hm = model.forward(x, training: false).array
        HardwareAwareInference.detach(from: model)
        XCTAssertGreaterThan(zip(hm, sw).map { abs($0 - $1) }.max()!, 0)
        let agree = (0..<16).filter { n in
            argmax(hm[(n * 10)..<((n + 1) * 10)]) == argmax(sw[(n * 10)..<((n + 1) * 10)])
        }.count
        XCTAssertGreaterThanOrEqual(agree, 15)
        var noisy = ideal
        noisy.adcBits = 3; noisy.variation = 0.3; noisy.device = .rram
        HardwareAwareInference.attach(to: model, config: noisy)
        let hn = model.forward(x, training: false).array
        HardwareAwareInference.detach(from: model)
        XCTAssertGreaterThan(zip(hn, sw).map { abs($0 - $1) }.max()!, 1e-2)
        XCTAssertEqual(model.forward(x, training: false).array, sw, "detached: the software path again")
    }
}
