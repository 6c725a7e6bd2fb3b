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

    /// Back-propagates dL/dlogits, accumulating into the parameter gradients.
    public func backward(_ dLogits: Tensor) {
        _ = network.backward(dLogits)
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
