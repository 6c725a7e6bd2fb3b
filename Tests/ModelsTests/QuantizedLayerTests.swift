import Models
import Quantization
import TensorEngine
import TestSupport
import XCTest

/// A quantized convolution must compute exactly the FP32 convolution of its binarized weights and quantized input,
/// and route gradients through the straight-through rules.
final class QuantizedLayerTests: XCTestCase {
    override func setUp() { EngineUnderTest.configure() }
    override func tearDown() { EngineUnderTest.reset() }

    func testQuantizedConvIsTheConvOfItsQuantizedOperands() throws {
        let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 3)
        let store = ParameterStore(), plain = ParameterStore()
        let q = Conv2d(store, "c", inChannels: 8, outChannels: 4, kernel: 3, padding: 1,
                       quant: policy.spec(for: "c", role: .middle))
        let f = Conv2d(plain, "c", inChannels: 8, outChannels: 4, kernel: 3, padding: 1)
        store.finalize(); plain.finalize()
        var rng = RNG(seed: 1)
        q.initialize(rng: &rng)
        let x = Tensor(shape: [2, 8, 5, 5])
        for i in 0..<x.count { x.data[i] = max(rng.normal(), 0) }
        let y = q.forward(x, training: true).planarArray

        // Reference: binarize and quantize by hand, then run the plain layer.
        var wq = [Float](repeating: 0, count: q.weight.count), scratch = wq
        var groups: [WeightBinarizer.Group] = []
        WeightBinarizer(kind: .bwma, perChannel: true).binarize(
            latent: q.weight.value, count: q.weight.count, outChannels: 4, into: &wq, groups: &groups, scratch: &scratch)
        XCTAssertEqual(groups.count, 4, "one split per output channel by default")
        for c in 0..<4 { XCTAssertEqual(Set(wq[(c * 72)..<((c + 1) * 72)]).count, 2, "binary weights per channel") }
        for i in 0..<wq.count { f.weight.value[i] = wq[i] }
        let refStore = ParameterStore()
        let aq = BWMAActivationQuantizer(bits: 3, store: refStore, name: "r")
        refStore.finalize()
        let xq = Tensor(shape: x.shape)
        aq.forward(y: xq.data, x: x.data, count: x.count, perSample: x.count / 2, training: true)
        XCTAssertLessThanOrEqual(Set(xq.array).count, 8, "3-bit inputs take at most 8 values")
        // The reference kernels run the same float products (bit-equal); oneDNN's exact integer forward rounds once
        // at the end instead (see testIntegerForwardMatchesTheFloatConvolutionOfTheQuantizedOperands).
        let yf = f.forward(xq, training: true).planarArray
        if q.path == .integer {
            let scale = yf.map(abs).max() ?? 1
            for i in 0..<y.count { XCTAssertEqual(y[i], yf[i], accuracy: 1e-5 * scale) }
        } else {
            XCTAssertEqual(y, yf)
        }

        // Backward: latent gradient = STE(dWq) with the default window 3α; input gradient = soft-staircase rule.
        let dy = Tensor(shape: [2, 4, 5, 5])
        for i in 0..<dy.count { dy.data[i] = rng.normal() }
        store.zeroGrad(); plain.zeroGrad()
        let dx = q.backward(dy).array
        let dxq = f.backward(dy).array
        for i in 0..<q.weight.count {
            let g = groups[i / 72]
            let inside = abs(q.weight.value[i] - g.threshold) <= 3 * g.alpha
            XCTAssertEqual(q.weight.grads[i], inside ? f.weight.grads[i] : 0, accuracy: 1e-6)
        }
        var expected = [Float](repeating: 0, count: x.count)
        dxq.withUnsafeBufferPointer { d in
            aq.backward(dx: &expected, dy: d.baseAddress!, x: x.data, count: x.count, perSample: x.count / 2)
        }
        XCTAssertEqual(dx, expected)
    }

    func testZooAppliesThePolicyToMiddleLayersOnly() throws {
        let policy = try QuantPolicy(weights: .bwn, activations: .uniformSTE, abits: 4)
        let m = try ModelZoo.make("resnet20", inputShape: [1, 16, 16], numClasses: 10, quant: policy)
        let convs = m.leaves.compactMap { $0 as? Conv2d }
        XCTAssertNil(convs.first!.quantization)
        XCTAssert(convs.dropFirst().allSatisfy { $0.quantization?.binarizer?.kind == .bwn })
        XCTAssertNil((m.leaves.last as? Linear)?.quantization)
        let fp = try ModelZoo.make("resnet20", inputShape: [1, 16, 16], numClasses: 10)
        XCTAssertEqual(m.parameterCount, fp.parameterCount)  // BWN + uniform-STE add no parameters
    }

    /// One training forward and backward of a binarized 16→16 3x3 convolution with a k-bit BWMA input.
    private func integerLayerRun(_ backend: Backend, _ precision: Precision, perChannel: Bool, bits: Int) throws
        -> (y: [Float], dx: [Float], dW: [Float], path: KernelPath) {
        EngineContext.configure(threads: 1, backend: backend, precision: precision)
        let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: bits, perChannel: perChannel)
        let store = ParameterStore()
        let conv = Conv2d(store, "c", inChannels: 16, outChannels: 16, kernel: 3, stride: 1, padding: 1,
                          quant: policy.spec(for: "c", role: .middle))
        store.finalize()
        var rng = RNG(seed: 11)
        conv.initialize(rng: &rng)
        let x = Tensor(shape: [3, 16, 6, 6]), dy = Tensor(shape: [3, 16, 6, 6])
        for i in 0..<x.count { x.data[i] = max(rng.normal(), 0); dy.data[i] = rng.normal() }
        let y = conv.forward(x, training: true)
        let out = y.planarArray
        store.zeroGrad()
        // The output gradient is laid out like the output (channels-last from oneDNN).
        let dx = conv.backward(dy.converted(to: y.layout, using: Tensor(shape: [0]))).array
        return (out, dx, conv.weight.grads, conv.path)
    }

    /// On oneDNN a binarized convolution with a k-bit input runs the exact integer forward; it gives the float
    /// convolution of the quantized operands up to float rounding, and its backward — oneDNN's, on the quantized
    /// input rebuilt from the codes — the reference's: to fp32 rounding, and in bf16 to the operands' 8-bit
    /// rounding (2⁻⁸ relative per operand, checked at 2⁻⁶ of the largest gradient).
    func testIntegerForwardMatchesTheFloatConvolutionOfTheQuantizedOperands() throws {
        guard DNNL.shared != nil, DNNL.supportsEngine else {
            throw XCTSkip("the engine does not use oneDNN here (ISA \(DNNL.isaName))")
        }
        let precisions: [Precision] = DNNL.hasNativeBF16 ? [.fp32, .bf16] : [.fp32]
        for precision in precisions {
            for (perChannel, bits) in [(true, 4), (false, 2), (true, 8)] {
                let ref = try integerLayerRun(.reference, .fp32, perChannel: perChannel, bits: bits)
                let dnnl = try integerLayerRun(.onednn, precision, perChannel: perChannel, bits: bits)
                XCTAssertEqual([ref.path, dnnl.path], [.reference, .integer])
                let scale = ref.y.map(abs).max() ?? 1
                for i in 0..<ref.y.count { XCTAssertEqual(dnnl.y[i], ref.y[i], accuracy: 1e-5 * scale, "forward \(i)") }
                let tolerance: Float = precision == .bf16 ? 1.0 / 64 : 1e-5
                let gx = ref.dx.map(abs).max() ?? 1, gw = ref.dW.map(abs).max() ?? 1
                for i in 0..<ref.dx.count {
                    XCTAssertEqual(dnnl.dx[i], ref.dx[i], accuracy: tolerance * gx, "\(precision) dx \(i)")
                }
                for i in 0..<ref.dW.count {
                    XCTAssertEqual(dnnl.dW[i], ref.dW[i], accuracy: tolerance * gw, "\(precision) dW \(i)")
                }
            }
        }
    }
}
