import Models
import Quantization
import TensorEngine
import TestSupport
import XCTest

/// Whole-layer and whole-network backward passes against central differences of the cross-entropy loss.
final class ModelGradientTests: XCTestCase {
    override func setUp() { EngineUnderTest.configure() }
    override func tearDown() { EngineUnderTest.reset() }

    /// Loss of `layer` on `x` as Σ y·r (training mode: batch statistics), in Double.
    func layerLoss(_ layer: Layer, _ x: Tensor, _ r: [Float]) -> Double {
        let y = layer.forward(x, training: true)
        return zip(y.array, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    func checkLayer(_ name: String, _ layer: Layer, store: ParameterStore, inputShape: [Int], seed: UInt64) {
        store.finalize()
        var rng = RNG(seed: seed)
        layer.initialize(rng: &rng)
        // Perturb BN affine parameters away from 1/0 so their gradients are exercised in general position.
        for p in store.parameters where p.name.contains("bn") || p.name.contains("downsample.1") {
            for i in 0..<p.count { p.value[i] += rng.normal() * 0.3 }
        }
        let x = Tensor(shape: inputShape)
        for i in 0..<x.count { x.data[i] = rng.normal() }
        let outShape = [inputShape[0]] + layer.outputShape(for: Array(inputShape.dropFirst()))
        let r = (0..<outShape.reduce(1, *)).map { _ in rng.normal() }
        _ = layer.forward(x, training: true)
        store.zeroGrad()
        let dx = layer.backward(Tensor(shape: outShape, values: r)).array
        var xs = x.array
        GradientCheck.check("\(name) dx", values: &xs, analytic: dx, indices: GradientCheck.sample(xs.count, 25),
                            eps: 1e-3, atol: 1e-2, rtol: 1e-2) { v in
            let t = Tensor(shape: inputShape, values: v)
            return self.layerLoss(layer, t, r)
        }
        for p in store.parameters {
            let original = p.values
            var vals = original
            let g = p.grads
            GradientCheck.check("\(name) \(p.name)", values: &vals, analytic: g,
                                indices: GradientCheck.sample(p.count, 8), eps: 1e-3, atol: 1e-2, rtol: 1e-2) { v in
                for i in 0..<p.count { p.value[i] = v[i] }
                defer { for i in 0..<p.count { p.value[i] = original[i] } }
                return self.layerLoss(layer, x, r)
            }
        }
    }

    func testBasicBlocksAllShortcutKinds() {
        let configs: [(String, Int, Int, Int, ShortcutKind)] = [
            ("identity", 4, 4, 1, .optionA), ("optionA", 4, 8, 2, .optionA), ("optionB", 4, 6, 2, .optionB),
        ]
        for (i, (name, cin, cout, stride, kind)) in configs.enumerated() {
            let store = ParameterStore()
            let block = BasicBlock(store, "b", inChannels: cin, outChannels: cout, stride: stride, shortcut: kind)
            checkLayer(name, block, store: store, inputShape: [3, cin, 6, 6], seed: UInt64(10 + i))
        }
    }

    /// A 3 x 3 convolution on Winograd (oneDNN, fp32, 32 channels, stride 1: `ConvAlgorithm.auto`) against
    /// central differences. Its output is linear in the input and in the weights, so a large ε (0.5) leaves no
    /// truncation error and divides the transforms' rounding noise (~1e-6 of the outputs) down below the tolerance.
    func testWinogradConvolutionGradients() {
        let store = ParameterStore()
        let conv = Conv2d(store, "conv", inChannels: 32, outChannels: 32, kernel: 3, stride: 1, padding: 1)
        store.finalize()
        var rng = RNG(seed: 40)
        conv.initialize(rng: &rng)
        let shape = [2, 32, 5, 4]
        let x = Tensor(shape: shape)
        for i in 0..<x.count { x.data[i] = rng.normal() }
        let r = (0..<(2 * 32 * 5 * 4)).map { _ in rng.normal() }
        _ = conv.forward(x, training: true)
        store.zeroGrad()
        let dx = conv.backward(Tensor(shape: shape, values: r)).array
        let wino = conv.dnnlKernels.filter { $0.hasPrefix("jit_wino") }.count
        if EngineContext.usesDNNL && EngineContext.precision == .fp32 && DNNL.isaName.hasPrefix("avx512_core") {
            XCTAssertEqual(wino, 3, "\(conv.dnnlKernels)")
        }
        var xs = x.array
        GradientCheck.check("winograd dx", values: &xs, analytic: dx, indices: GradientCheck.sample(xs.count, 25),
                            eps: 0.5) { self.layerLoss(conv, Tensor(shape: shape, values: $0), r) }
        let original = conv.weight.values, g = conv.weight.grads
        var ws = original
        GradientCheck.check("winograd dW", values: &ws, analytic: g, indices: GradientCheck.sample(ws.count, 25),
                            eps: 0.5) { v in
            for i in 0..<v.count { conv.weight.value[i] = v[i] }
            defer { for i in 0..<v.count { conv.weight.value[i] = original[i] } }
            return self.layerLoss(conv, x, r)
        }
    }

    func testLayersThroughTheModelsWrappers() {
        do {
            let store = ParameterStore()
            let seq = Sequential([
                Conv2d(store, "conv", inChannels: 2, outChannels: 3, kernel: 3, stride: 1, padding: 1, bias: true),
                BatchNorm2d(store, "bn", channels: 3), Hardtanh(), AvgPool2d(kernel: 2), MaxPool2d(kernel: 2),
                Flatten(), Linear(store, "fc", inFeatures: 3 * 2 * 2, outFeatures: 4),
            ])
            checkLayer("stack", seq, store: store, inputShape: [4, 2, 8, 8], seed: 3)
        }
    }

    /// The full network: ∂CE/∂θ for a few weights of every parameter tensor of a small ResNet. On the direct
    /// kernels: Winograd's transform rounding (~1e-6 of a layer's outputs, and not smooth in its operands) is more
    /// than central differences at ε = 1e-4 resolve through batch norm and the loss; its gradients are checked
    /// against the direct kernels' (`DNNLConvolutionTests`) and by differences of a layer linear in each operand
    /// (`testWinogradConvolutionGradients`).
    func testResNet8CrossEntropyGradient() throws {
        EngineContext.convAlgorithm = .direct
        defer { EngineContext.convAlgorithm = .auto }
        for threads in [1, 2] {
            EngineContext.threads = threads
            let m = try ModelZoo.make("resnet8", inputShape: [2, 8, 8], numClasses: 5, seed: 1)
            checkCrossEntropyGradient("resnet8 t\(threads)", m, inputShape: [6, 2, 8, 8], classes: 5,
                                      samples: 4) { _ in true }
        }
    }

    /// ResNet-18 runs its stem's backward in the blocks' shared buffers (the pool writes into their scratch, the
    /// stem's batch norm over its incoming gradient): every gradient, over two steps (the second on reused,
    /// stale buffers), equals bit for bit that of the same network built with a buffer per layer.
    func testResNet18SharedGradientBuffersChangeNoGradient() throws {
        let shared = try ModelZoo.make("resnet18", inputShape: [3, 32, 32], numClasses: 5, seed: 4)
        let own = Model(arch: "resnet18", inputShape: [3, 32, 32], numClasses: 5, seed: 4) { store in
            var layers: [Layer] = [
                Conv2d(store, "conv1", inChannels: 3, outChannels: 64, kernel: 7, stride: 2, padding: 3),
                BatchNorm2d(store, "bn1", channels: 64, fusedReLU: true), MaxPool2d(kernel: 3, stride: 2, padding: 1),
            ]
            var c = 64
            for (stage, width) in [64, 128, 256, 512].enumerated() {
                for b in 0..<2 {
                    layers.append(BasicBlock(store, "layer\(stage + 1).\(b)", inChannels: c, outChannels: width,
                                             stride: stage > 0 && b == 0 ? 2 : 1, shortcut: .optionB))
                    c = width
                }
            }
            return layers + [GlobalAvgPool2d(), Linear(store, "fc", inFeatures: 512, outFeatures: 5)]
        }
        XCTAssertEqual(shared.store.parameters.map(\.name), own.store.parameters.map(\.name))
        XCTAssertTrue(zip(shared.store.parameters, own.store.parameters).allSatisfy { $0.values == $1.values },
                      "the two builds start from the same weights")
        var rng = RNG(seed: 5)
        for step in 0..<2 {
            let x = Tensor(shape: [2, 3, 32, 32])
            for i in 0..<x.count { x.data[i] = rng.normal() }
            let d = Tensor(shape: [2, 5])
            for i in 0..<d.count { d.data[i] = rng.normal() }
            for m in [shared, own] {
                _ = m.forward(x, training: true)
                m.store.zeroGrad()
                m.backward(d)
            }
            for (p, q) in zip(shared.store.parameters, own.store.parameters) {
                let differing = zip(p.grads, q.grads).filter { $0 != $1 }.count
                XCTAssertEqual(differing, 0, "step \(step): \(p.name) differs in \(differing) of \(p.count) values")
            }
        }
    }

    /// The blocks' fusions change no bit: consecutive blocks fold the ReLU backward between them into the sum
    /// before it (`BasicBlock.chain`), and bn2 writes relu(bn2(·) + shortcut) itself (`fusesSum`). Every output and
    /// gradient, over two steps, equals bit for bit that of the same network without them — CIFAR ResNets (identity
    /// and option-A blocks; FP32 and W1A4) and ResNet-18 (projections), on two threads.
    func testBlockFusionsChangeNoBit() throws {
        let w1a4 = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4)
        let backends: [Backend] = DNNL.shared != nil && DNNL.supportsEngine ? [.reference, .onednn] : [.reference]
        for backend in backends {
            EngineContext.configure(threads: 2, backend: backend)
            try checkBlockFusions(w1a4, backend: backend)
        }
    }

    private func checkBlockFusions(_ w1a4: QuantPolicy, backend: Backend) throws {
        for (arch, quant, shape) in [("resnet14", QuantPolicy.fp32, [3, 8, 8]), ("resnet14", w1a4, [3, 8, 8]),
                                     ("resnet18", .fp32, [3, 32, 32])] {
            let chained = try ModelZoo.make(arch, inputShape: shape, numClasses: 5, seed: 4, quant: quant)
            let plain = try ModelZoo.make(arch, inputShape: shape, numClasses: 5, seed: 4, quant: quant)
            let blocks = chained.network.layers.compactMap { $0 as? BasicBlock }
            XCTAssertGreaterThanOrEqual(blocks.filter(\.masksInputGradient).count, 2, "\(arch): blocks chained")
            for case let b as BasicBlock in plain.network.layers { b.unchain(); b.fusesSum = false }
            var rng = RNG(seed: 5)
            for step in 0..<2 {
                let x = Tensor(shape: [3] + shape)
                for i in 0..<x.count { x.data[i] = rng.normal() }
                let d = Tensor(shape: [3, 5])
                for i in 0..<d.count { d.data[i] = rng.normal() }
                var logits: [[Float]] = []
                for m in [chained, plain] {
                    logits.append(m.forward(x, training: true).array)
                    m.store.zeroGrad()
                    m.backward(d)
                }
                XCTAssertEqual(logits[0].map(\.bitPattern), logits[1].map(\.bitPattern), "\(arch) step \(step): logits")
                for (p, q) in zip(chained.store.parameters, plain.store.parameters) {
                    let differing = zip(p.grads, q.grads).filter { $0.bitPattern != $1.bitPattern }.count
                    XCTAssertEqual(differing, 0, "\(arch) step \(step): \(p.name) differs in \(differing) values")
                }
                XCTAssertTrue(chained.store.parameters.contains { $0.grads.contains { $0 != 0 } }, "\(arch): gradients")
                // The sum is fused where the blocks run channels-last (oneDNN), not on the reference kernels' NCHW.
                let fused = blocks.filter(\.summedInBatchNorm).count
                XCTAssertEqual(fused, backend == .onednn ? blocks.count : 0, "\(arch) \(backend): summed in bn2")
            }
        }
    }

    func checkCrossEntropyGradient(_ name: String, _ m: Model, inputShape: [Int], classes: Int, samples: Int,
                                   parameters: (Parameter) -> Bool) {
        var rng = RNG(seed: 2)
        let x = Tensor(shape: inputShape), batch = inputShape[0]
        for i in 0..<x.count { x.data[i] = rng.normal() }
        var labels: [Int32] = (0..<batch).map { _ in Int32(rng.below(classes)) }
        func loss() -> Double {
            let y = m.forward(x, training: true)
            return labels.withUnsafeMutableBufferPointer {
                Double(SoftmaxCrossEntropy.forward(logits: y.data, labels: $0.baseAddress!, batch: batch,
                                                   classes: classes, dLogits: nil).loss)
            }
        }
        let y = m.forward(x, training: true)
        let d = Tensor(shape: y.shape)
        _ = labels.withUnsafeMutableBufferPointer {
            SoftmaxCrossEntropy.forward(logits: y.data, labels: $0.baseAddress!, batch: batch, classes: classes,
                                        dLogits: d.data)
        }
        m.store.zeroGrad()
        m.backward(d)
        let checked = m.store.parameters.filter(parameters)
        XCTAssertFalse(checked.isEmpty, "\(name): no parameter selected")
        for p in checked {
            let original = p.values
            var vals = original
            GradientCheck.check("\(name) \(p.name)", values: &vals, analytic: p.grads,
                                indices: GradientCheck.sample(p.count, samples), eps: 1e-4, atol: 2e-3,
                                rtol: 2e-2) { v in
                for i in 0..<p.count { p.value[i] = v[i] }
                defer { for i in 0..<p.count { p.value[i] = original[i] } }
                return loss()
            }
        }
    }
}
