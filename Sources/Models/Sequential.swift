import TensorEngine

/// Layers applied one after another.
public final class Sequential: Layer {
    public private(set) var layers: [Layer]

    public init(_ layers: [Layer] = []) { self.layers = layers }

    public func append(_ layer: Layer) { layers.append(layer) }

    public var children: [Layer] { layers }

    public func outputShape(for input: [Int]) -> [Int] {
        layers.reduce(input) { $1.outputShape(for: $0) }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        var h = x
        for l in layers { h = l.forward(h, training: training) }
        return h
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var g = dy
        for l in layers.reversed() { g = l.backward(g) }
        return g
    }

    public func initialize(rng: inout RNG) {
        for l in layers { l.initialize(rng: &rng) }
    }
}
