import TensorEngine

/// An optimiser updates a model's FP32 (latent) parameters in place from their accumulated gradients.
///
/// Implementations walk the contiguous arena of a `ParameterStore`, so a step is one loop over all parameters;
/// per-parameter state (momentum, moments) lives in arrays with the same layout.
public protocol Optimizer: AnyObject {
    /// Applies one update with learning rate `lr`.
    func step(lr: Float)
    /// Number of steps taken (Adam's bias correction; checkpoints).
    var stepCount: Int { get }
    /// The per-parameter state arrays by name (`[parameterCount]` floats each, arena layout), for checkpoints:
    /// SGD's `momentum`, Adam's `m` and `v`.
    var state: [String: UnsafeMutablePointer<Float>] { get }
    /// Sets the step counter (resuming from a checkpoint; the state arrays are restored through `state`).
    func restore(stepCount: Int)
}
