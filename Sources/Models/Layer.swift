import TensorEngine

/// A network layer with explicit forward and backward passes (llm.c / Caffe style, no autograd tape).
///
/// Contract:
/// - `forward` returns a tensor the layer owns; it stays valid until the layer's next `forward`. In training mode the
///   layer keeps what its backward needs (usually a reference to its input).
/// - `backward` receives dL/d(output) and returns dL/d(input), also layer-owned; it *accumulates* into parameter
///   gradients (`+=`), which `ParameterStore.zeroGrad()` clears once per step.
/// - Buffers grow on the first batch of a given size and are reused afterwards: steady-state steps allocate nothing.
public protocol Layer: AnyObject {
    /// Per-sample output shape (without the batch dimension) for a per-sample input shape.
    func outputShape(for input: [Int]) -> [Int]
    func forward(_ x: Tensor, training: Bool) -> Tensor
    func backward(_ dy: Tensor) -> Tensor
    /// Fills parameters and buffers with their initial values (after `ParameterStore.finalize()`).
    func initialize(rng: inout RNG)
    /// Child layers, for traversal (empty for leaves).
    var children: [Layer] { get }
    /// Trainable parameters this layer owns itself (not its children's).
    var ownParameters: [Parameter] { get }
}

extension Layer {
    public var children: [Layer] { [] }
    public var ownParameters: [Parameter] { [] }
    public func initialize(rng: inout RNG) {}

    /// Trainable parameters of the layer and all its descendants.
    public var allParameters: [Parameter] { ownParameters + children.flatMap(\.allParameters) }
}

/// Leaf layers whose backward can skip the input gradient (a network's first layer).
public protocol InputGradientOptional: Layer {
    var needsInputGradient: Bool { get set }
}
