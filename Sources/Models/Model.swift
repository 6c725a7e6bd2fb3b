import TensorEngine

/// A built network: its layers, its parameter arena and the shapes it was built for.
public final class Model {
    /// Architecture name as given to the zoo (e.g. `resnet20`).
    public let arch: String
    /// Per-sample input shape [C, H, W].
    public let inputShape: [Int]
    public let numClasses: Int
    /// Every parameter and buffer of the network, contiguous.
    public let store: ParameterStore
    public let network: Sequential

    /// Builds through `build`, which registers layers against `store`; then allocates the arena and initialises.
    public init(arch: String, inputShape: [Int], numClasses: Int, seed: UInt64,
                build: (ParameterStore) -> [Layer]) {
        self.arch = arch
        self.inputShape = inputShape
        self.numClasses = numClasses
        store = ParameterStore()
        network = Sequential(build(store))
        store.finalize()
        var rng = RNG(seed: seed, stream: 1)
        network.initialize(rng: &rng)
        let out = network.outputShape(for: inputShape)
        precondition(out == [numClasses], "\(arch) produces \(out), expected [\(numClasses)]")
        // The first layer's input is data: no gradient needed.
        if let first = firstLeaf(network) as? InputGradientOptional { first.needsInputGradient = false }
    }

    private func firstLeaf(_ l: Layer) -> Layer {
        l.children.first.map(firstLeaf) ?? l
    }

    /// Logits [N, classes] for x [N, C, H, W].
    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(Array(x.shape.dropFirst()) == inputShape, "\(arch) expects [N] + \(inputShape), got \(x.shape)")
        return network.forward(x, training: training)
    }

    /// For each top-level layer, the lowest arena offset of its parameters (nil: none). After that layer's
    /// backward, every gradient at or above that offset is final (parameters are registered in forward order).
    lazy var readyOffsets: [Int?] = network.layers.map { $0.allParameters.map(\.offset).min() }

    /// Back-propagates dL/dlogits, accumulating into the parameter gradients.
    public func backward(_ dLogits: Tensor) {
        _ = network.backward(dLogits)
    }

    /// Back-propagates like `backward(_:)` and calls `gradientsReady(offset)` after each top-level layer that has
    /// parameters, with the lowest arena offset whose gradient is now final (gradient synchronisation starts
    /// communicating there while backward continues).
    public func backward(_ dLogits: Tensor, gradientsReady: (Int) throws -> Void) throws {
        var g = dLogits
        for (i, layer) in network.layers.enumerated().reversed() {
            g = layer.backward(g)
            if let offset = readyOffsets[i] { try gradientsReady(offset) }
        }
    }

    /// Number of trainable scalars.
    public var parameterCount: Int { store.parameterCount }

    /// Every leaf layer in forward order.
    public var leaves: [Layer] {
        var out: [Layer] = []
        func walk(_ l: Layer) { if l.children.isEmpty { out.append(l) } else { l.children.forEach(walk) } }
        walk(network)
        return out
    }
}
