import Models
import Quantization
import TensorEngine
import TestSupport
import XCTest

/// bf16 storage of convolution outputs that only a batch norm reads (`Conv2d.outputFeedsBatchNorm`, bf16 mixed
/// precision): the tensor holds half the bytes, the convolutions write their Float results rounded to bf16, and
/// batch norm on a bf16 input computes bit for bit what it computes on the same values in Float.
final class MixedPrecisionStorageTests: XCTestCase {
    override func tearDown() { EngineUnderTest.reset() }

    func testBF16TensorHoldsHalfTheBytesAndWidensExactly() {
        let t = Tensor(shape: [0])
        t.ensure(shape: [2, 3, 5, 7], elementType: .bfloat16)
        XCTAssertEqual(t.capacity, (2 * 3 * 5 * 7 + 1) / 2)
        let values: [Float] = (0..<t.count).map { Float($0) * 0.37 - 20 }
        for i in 0..<t.count { t.bf16Data[i] = BFloat16(values[i]) }
        XCTAssertEqual(t.array, values.map { BFloat16($0).float })
        XCTAssertTrue(t.ensure(shape: [2, 3, 5, 7]), "Float storage of the same shape needs twice the bytes")
        XCTAssertEqual(t.elementType, .float32)
        XCTAssertEqual(t.capacity, 2 * 3 * 5 * 7)
    }

    /// `widened` gives a bf16 tensor's exact Float values (same shape and layout) and a Float tensor itself.
    func testWidenedIsExactAndLeavesFloatTensorsAlone() {
        let t = Tensor(shape: [0]), scratch = Tensor(shape: [0])
        t.ensure(shape: [2, 17, 3, 1], elementType: .bfloat16)
        t.layout = .nhwc
        for i in 0..<t.count { t.bf16Data[i] = BFloat16(Float(i) * -0.731 + 3) }
        let w = t.widened(using: scratch)
        XCTAssertTrue(w === scratch)
        XCTAssertEqual(w.shape, t.shape)
        XCTAssertEqual(w.layout, .nhwc)
        XCTAssertEqual(w.elementType, .float32)
        XCTAssertEqual(w.array.map(\.bitPattern), (0..<t.count).map { t.bf16Data[$0].float.bitPattern })
        XCTAssertTrue(w.widened(using: Tensor(shape: [0])) === w)
    }

    /// Training and evaluation, with and without the fused ReLU, 16-channel blocks with and without a tail; the
    /// training backward on a bf16 input writes dx in bf16 (the Float dx rounded: `BFloat16.store16` lane for lane
    /// `BFloat16.init`).
    func testBatchNormOnBF16InputEqualsBatchNormOnTheSameFloats() {
        for (channels, relu, training) in [(20, true, true), (32, false, true), (20, false, false), (16, true, false)] {
            var rng = RNG(seed: UInt64(channels))
            let shape = [3, channels, 5, 4]
            let count = shape.reduce(1, *)
            let values = (0..<count).map { _ in BFloat16(rng.normal() * 2 + 0.5) }
            let half = Tensor(shape: [0]), full = Tensor(shape: shape, values: values.map(\.float))
            half.ensure(shape: shape, elementType: .bfloat16)
            for i in 0..<count { half.bf16Data[i] = values[i] }
            half.layout = .nhwc; full.layout = .nhwc
            let dy = (0..<count).map { _ in rng.normal() }
            var results: [[[Float]]] = []
            for x in [half, full] {
                let store = ParameterStore()
                let bn = BatchNorm2d(store, "bn", channels: channels, fusedReLU: relu)
                store.finalize()
                var prng = RNG(seed: 9)
                bn.initialize(rng: &prng)
                for p in store.parameters where p.name.hasSuffix("weight") || p.name.hasSuffix("bias") {
                    for i in 0..<p.count { p.value[i] += prng.normal() * 0.3 }
                }
                let y = bn.forward(x, training: training).array
                let g = Tensor(shape: shape, values: dy)
                g.layout = .nhwc
                let dx = bn.backward(g).array
                XCTAssertEqual(bn.lastGradientType, x === half && training ? .bfloat16 : .float32)
                results.append([y, dx] + store.parameters.map(\.grads) + store.parameters.map(\.values))
            }
            let what = "channels \(channels) relu \(relu) training \(training)"
            XCTAssertEqual(results[0].count, results[1].count)
            // After training, dx of a bf16 input is itself bf16: the Float dx rounded to nearest, ties to even.
            if training { results[1][1] = results[1][1].map { BFloat16($0).float } }
            for (a, b) in zip(results[0], results[1]) {
                XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), what)
            }
            XCTAssertGreaterThan(results[1][1].map(abs).max() ?? 0, 0, "\(what): a zero gradient proves nothing")
        }
    }

    /// A oneDNN convolution (Float weights) and a binarized one (the exact integer forward) write bf16 outputs that
    /// are their Float outputs rounded to nearest; the backward is unchanged.
    func testConvolutionsStoreTheirFloatOutputRoundedToBF16() throws {
        guard DNNL.shared != nil, DNNL.supportsEngine, DNNL.hasNativeBF16 else {
            throw XCTSkip("no native bf16 on this CPU (oneDNN ISA \(DNNL.isaName))")
        }
        EngineContext.configure(threads: 1, backend: .onednn, precision: .bf16)
        let binarized = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4).spec(for: "c", role: .middle)
        for quant in [nil, binarized] {
            var runs: [(y: Tensor, dx: [Float], dW: [Float])] = []
            for feedsBatchNorm in [true, false] {
                let store = ParameterStore()
                let conv = Conv2d(store, "c", inChannels: 16, outChannels: 24, kernel: 3, stride: 1, padding: 1,
                                  quant: quant)
                conv.outputFeedsBatchNorm = feedsBatchNorm
                store.finalize()
                var rng = RNG(seed: 3)
                conv.initialize(rng: &rng)
                let x = Tensor(shape: [2, 16, 7, 7])
                for i in 0..<x.count { x.data[i] = max(rng.normal(), 0) }
                let y = conv.forward(x, training: true)
                let dy = Tensor(shape: y.shape, values: (0..<y.count).map { _ in rng.normal() })
                dy.layout = y.layout
                store.zeroGrad()
                let dx = conv.backward(dy).array
                runs.append((y, dx, conv.weight.grads))
            }
            let what = quant == nil ? "float weights" : "binarized"
            XCTAssertEqual(runs[0].y.elementType, .bfloat16, what)
            XCTAssertEqual(runs[1].y.elementType, .float32, what)
            XCTAssertEqual(runs[0].y.array.map(\.bitPattern), runs[1].y.array.map { BFloat16($0).float.bitPattern },
                           what)
            XCTAssertEqual(runs[0].dx, runs[1].dx, what)
            XCTAssertEqual(runs[0].dW, runs[1].dW, what)
        }
    }

    /// A convolution given its input in bf16 computes what it computes on the same values in Float: oneDNN in bf16
    /// reads it as it is (`readsBF16Input`: the conversion it would make of the Float input), a quantized layer
    /// (W1A4) and fp32 precision widen it; and a batch norm asked for a bf16 output writes its Float output rounded.
    func testBF16InputsReadAsTheirFloatValues() throws {
        guard DNNL.shared != nil, DNNL.supportsEngine, DNNL.hasNativeBF16 else {
            throw XCTSkip("no native bf16 on this CPU (oneDNN ISA \(DNNL.isaName))")
        }
        let binarized = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4).spec(for: "c", role: .middle)
        for (quant, precision) in [(nil, Precision.bf16), (binarized, .bf16), (nil, .fp32)] {
            EngineContext.configure(threads: 1, backend: .onednn, precision: precision)
            var rng = RNG(seed: 5)
            let values = (0..<(2 * 16 * 6 * 6)).map { _ in BFloat16(max(rng.normal(), 0)) }
            let half = Tensor(shape: [0]), full = Tensor(shape: [2, 16, 6, 6], values: values.map(\.float))
            half.ensure(shape: full.shape, elementType: .bfloat16)
            for i in 0..<values.count { half.bf16Data[i] = values[i] }
            half.layout = .nhwc; full.layout = .nhwc
            var runs: [[[Float]]] = []
            for x in [half, full] {
                let store = ParameterStore()
                let conv = Conv2d(store, "c", inChannels: 16, outChannels: 8, kernel: 3, stride: 1, padding: 1,
                                  quant: quant)
                store.finalize()
                var prng = RNG(seed: 3)
                conv.initialize(rng: &prng)
                XCTAssertEqual(conv.readsBF16Input, quant == nil && precision == .bf16)
                let y = conv.forward(x, training: true)
                let dy = Tensor(shape: y.shape, values: (0..<y.count).map { _ in prng.normal() })
                dy.layout = y.layout
                store.zeroGrad()
                runs.append([y.array, conv.backward(dy).array] + store.parameters.map(\.grads))
            }
            let what = "\(quant == nil ? "float weights" : "binarized") \(precision)"
            for (a, b) in zip(runs[0], runs[1]) { XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), what) }
            XCTAssertGreaterThan(runs[0][2].map(abs).max() ?? 0, 0, what)
        }
        // Batch norm: training after a bf16 x, fused ReLU (whose backward recomputes the mask from x).
        EngineContext.configure(threads: 1, backend: .onednn, precision: .bf16)
        var rng = RNG(seed: 6)
        let x = Tensor(shape: [0])
        x.ensure(shape: [3, 20, 4, 5], elementType: .bfloat16)
        x.layout = .nhwc
        for i in 0..<x.count { x.bf16Data[i] = BFloat16(rng.normal()) }
        let dy = (0..<x.count).map { _ in rng.normal() }
        var runs: [(y: Tensor, grads: [[Float]])] = []
        for bf16 in [true, false] {
            let store = ParameterStore()
            let bn = BatchNorm2d(store, "bn", channels: 20, fusedReLU: true)
            store.finalize()
            var prng = RNG(seed: 2)
            bn.initialize(rng: &prng)
            for i in 0..<20 { bn.beta.value[i] = prng.normal() * 0.5 }
            bn.writesBF16Output = bf16
            let y = bn.forward(x, training: true)
            XCTAssertEqual(bn.lastOutputType, bf16 ? .bfloat16 : .float32)
            let g = Tensor(shape: x.shape, values: dy)
            g.layout = .nhwc
            runs.append((y, [bn.backward(g).array] + store.parameters.map(\.grads)))
        }
        XCTAssertEqual(runs[0].y.array.map(\.bitPattern), runs[1].y.array.map { BFloat16($0).float.bitPattern })
        XCTAssertEqual(runs[0].grads, runs[1].grads)
        XCTAssertTrue(runs[1].y.array.contains(0) && runs[1].y.array.contains { $0 > 0 }, "the ReLU both ways")
    }

    /// Whole networks in bf16 (bf16 convolution outputs, batch-norm outputs in the blocks' buffers, the integer path
    /// rounding its outputs) against the same networks in fp32, two steps each (the second on reused buffers): the
    /// loss to 1 %, and for the FP32 networks every parameter's gradient in the same direction (cosine ≥ 0.98 for
    /// ResNet-8, ≥ 0.9 for ResNet-18 at random initialisation, where the lowest measured was 0.93 — bf16 keeps 8
    /// significant bits per operand and output, and 16 layers of batch norm over small batches amplify them; a
    /// broken path gives cosines near 0). A binarized network's gradient is not compared: one flipped code or sign
    /// moves it far, in any precision. (With only 4 values per channel in ResNet-18's last stage, bf16 operands
    /// alone, without bf16 outputs, gave cosines of 0.7: batch norm amplifies any rounding there.)
    func testBF16NetworksFollowTheirFP32Gradients() throws {
        guard DNNL.shared != nil, DNNL.supportsEngine, DNNL.hasNativeBF16 else {
            throw XCTSkip("no native bf16 on this CPU (oneDNN ISA \(DNNL.isaName))")
        }
        let w1a4 = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4)
        let cases: [(String, QuantPolicy, [Int], Int, Double)] = [
            ("resnet8", .fp32, [3, 16, 16], 4, 0.98), ("resnet8", w1a4, [3, 16, 16], 4, 0),
            ("resnet18", .fp32, [3, 64, 64], 8, 0.9),
        ]
        for (arch, quant, shape, batch, cosine) in cases {
            let what = "\(arch) \(quant == .fp32 ? "fp32 network" : "W1A4")"
            let fp32 = try networkSteps(arch, quant, shape, batch, .fp32)
            let bf16 = try networkSteps(arch, quant, shape, batch, .bf16)
            for (a, b) in zip(fp32.loss, bf16.loss) { XCTAssertEqual(b, a, accuracy: 0.01 * a, what) }
            guard quant == .fp32 else { continue }
            for (i, (a, b)) in zip(fp32.grads, bf16.grads).enumerated() where a.contains(where: { $0 != 0 }) {
                let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let na = a.reduce(0.0) { $0 + Double($1) * Double($1) }, nb = b.reduce(0.0) { $0 + Double($1) * Double($1) }
                XCTAssertGreaterThanOrEqual(dot / (na * nb).squareRoot(), cosine, "\(what): parameter \(i)")
            }
        }
    }

    /// Batch norm after a bf16 convolution hands that convolution its gradient in bf16, a block's first batch norm
    /// hands the second convolution its output in bf16 (`BatchNorm2d.writesBF16Output`) and its second one the next
    /// block's convolutions a bf16 copy of the block's output: the bits oneDNN would round the Float tensors to, so
    /// whole networks (FP32 and W1A4 — whose quantized convolutions take no bf16
    /// input —, ResNet-8 with its shortcut, ResNet-18 with its stem and projections — whose in-place batch norms
    /// keep Float) compute bit for bit the same losses and gradients either way, on one and two threads.
    func testBF16HandoffsOfBatchNormChangeNoBit() throws {
        guard DNNL.shared != nil, DNNL.supportsEngine, DNNL.hasNativeBF16 else {
            throw XCTSkip("no native bf16 on this CPU (oneDNN ISA \(DNNL.isaName))")
        }
        let w1a4 = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4)
        for (arch, quant, shape, batch, threads) in [("resnet8", QuantPolicy.fp32, [3, 16, 16], 4, 1),
                                                      ("resnet8", w1a4, [3, 16, 16], 4, 2),
                                                      ("resnet18", .fp32, [3, 64, 64], 2, 2)] {
            let what = "\(arch) \(quant == .fp32 ? "fp32 network" : "W1A4") \(threads) threads"
            let float = try networkSteps(arch, quant, shape, batch, .bf16, threads: threads, bf16Handoffs: false)
            let half = try networkSteps(arch, quant, shape, batch, .bf16, threads: threads, bf16Handoffs: true)
            // An evaluation (Float handoffs, another batch size) between the steps changes nothing either, and
            // computes what it computes without any handoffs.
            let evaluated = try networkSteps(arch, quant, shape, batch, .bf16, threads: threads, bf16Handoffs: true,
                                             evaluateBetween: true)
            XCTAssertEqual(evaluated.loss, half.loss, what)
            XCTAssertEqual(evaluated.grads, half.grads, what)
            let plain = try networkSteps(arch, quant, shape, batch, .bf16, threads: threads, bf16Handoffs: false,
                                         evaluateBetween: true)
            XCTAssertEqual(evaluated.evaluation.map(\.bitPattern), plain.evaluation.map(\.bitPattern), what)
            XCTAssertFalse(evaluated.evaluation.isEmpty, what)
            XCTAssertEqual(half.loss, float.loss, what)
            XCTAssertEqual(half.grads.count, float.grads.count, what)
            for (i, (a, b)) in zip(float.grads, half.grads).enumerated() {
                XCTAssertEqual(b.map(\.bitPattern), a.map(\.bitPattern), "\(what): parameter \(i)")
            }
            XCTAssertGreaterThan(half.bf16Gradients, 0, "\(what): no batch norm wrote a bf16 gradient")
            // In an FP32 network, one per basic block (bn1) and a copy of each block's output but the last (bn2);
            // none where the convolutions quantize their input.
            let blocks = arch == "resnet8" ? 3 : 8
            XCTAssertEqual(half.bf16Outputs, quant == .fp32 ? 2 * blocks - 1 : 0, what)
            XCTAssertEqual(float.bf16Gradients + float.bf16Outputs, 0, what)
        }
    }

    /// Two forward/backward steps on random data (no update): their losses, the last step's gradients, and how
    /// many batch norms wrote a bf16 input gradient and a bf16 output in it.
    private func networkSteps(_ arch: String, _ quant: QuantPolicy, _ shape: [Int], _ batch: Int,
                              _ precision: Precision, threads: Int = 1, bf16Handoffs: Bool = true,
                              evaluateBetween: Bool = false) throws
        -> (loss: [Double], grads: [[Float]], bf16Gradients: Int, bf16Outputs: Int, evaluation: [Float]) {
        EngineContext.configure(threads: threads, backend: .onednn, precision: precision)
        let m = try ModelZoo.make(arch, inputShape: shape, numClasses: 5, seed: 7, quant: quant)
        let norms = m.leaves.compactMap { $0 as? BatchNorm2d }
        for bn in norms { bn.writesBF16Gradient = bf16Handoffs }
        for block in m.network.layers.compactMap({ $0 as? BasicBlock }) { block.writesInnerBF16 = bf16Handoffs }
        var written = 0, outputs = 0
        var rng = RNG(seed: 8)
        var losses: [Double] = [], evaluation: [Float] = []
        for step in 0..<2 {
            if step == 1 && evaluateBetween {
                let e = Tensor(shape: [batch + 1] + shape)
                for i in 0..<e.count { e.data[i] = Float(i % 7) * 0.3 - 0.9 }
                evaluation = m.forward(e, training: false).array
            }
            let x = Tensor(shape: [batch] + shape)
            for i in 0..<x.count { x.data[i] = rng.normal() }
            var labels: [Int32] = (0..<batch).map { _ in Int32(rng.below(5)) }
            let y = m.forward(x, training: true)
            let d = Tensor(shape: y.shape)
            losses.append(labels.withUnsafeMutableBufferPointer {
                SoftmaxCrossEntropy.forward(logits: y.data, labels: $0.baseAddress!, batch: batch, classes: 5,
                                            dLogits: d.data).loss
            })
            m.store.zeroGrad()
            m.backward(d)
            written = norms.filter { $0.lastGradientType == .bfloat16 }.count
            outputs = norms.filter { $0.lastOutputType == .bfloat16 }.count + norms.filter(\.lastWroteCopy).count
        }
        return (losses, m.store.parameters.map(\.grads), written, outputs, evaluation)
    }
}
