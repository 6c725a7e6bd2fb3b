import Foundation

/// One contiguous arena for a model's trainable parameters and their gradients, and a second one for its buffers.
///
/// Registration order is layer order (forward order); `GradientSync` walks it backwards to form buckets.
///
/// Sendable (unchecked): registration happens on one thread before `finalize()`; afterwards the arenas are shared by
/// kernels that write disjoint ranges (per-worker partial gradients are reduced by one thread).
public final class ParameterStore: @unchecked Sendable {
    /// Trainable parameters in registration order.
    public private(set) var parameters: [Parameter] = []
    /// Non-trainable buffers (running statistics) in registration order.
    public private(set) var buffers: [Parameter] = []
    /// Total trainable element count.
    public private(set) var parameterCount = 0
    /// Total buffer element count.
    public private(set) var bufferCount = 0

    /// The three arenas, allocated by `finalize()`.
    private var arenas: (values: UnsafeMutablePointer<Float>, grads: UnsafeMutablePointer<Float>,
                         buffers: UnsafeMutablePointer<Float>)?

    public init() {}

    deinit {
        arenas?.values.deallocate()
        arenas?.grads.deallocate()
        arenas?.buffers.deallocate()
    }

    /// Whether `finalize()` has run.
    public var isFinalized: Bool { arenas != nil }

    /// [parameterCount] values of all trainable parameters (after `finalize()`).
    public var values: UnsafeMutablePointer<Float> { finalized.values }
    /// [parameterCount] gradients, same layout as `values` (after `finalize()`).
    public var grads: UnsafeMutablePointer<Float> { finalized.grads }
    /// [bufferCount] buffer values (after `finalize()`).
    public var bufferValues: UnsafeMutablePointer<Float> { finalized.buffers }

    private var finalized: (values: UnsafeMutablePointer<Float>, grads: UnsafeMutablePointer<Float>,
                            buffers: UnsafeMutablePointer<Float>) {
        guard let arenas else { preconditionFailure("the parameter store is used before finalize()") }
        return arenas
    }

    /// Registers a trainable tensor. `fanIn` is recorded for initialisers.
    public func parameter(_ name: String, shape: [Int], fanIn: Int = 1) -> Parameter {
        precondition(!isFinalized, "parameter '\(name)' registered after finalize()")
        let p = Parameter(name: name, shape: shape, offset: parameterCount, trainable: true, fanIn: fanIn, store: self)
        parameters.append(p)
        parameterCount += p.count
        return p
    }

    /// Registers a non-trainable buffer.
    public func buffer(_ name: String, shape: [Int]) -> Parameter {
        precondition(!isFinalized, "buffer '\(name)' registered after finalize()")
        let p = Parameter(name: name, shape: shape, offset: bufferCount, trainable: false, fanIn: 1, store: self)
        buffers.append(p)
        bufferCount += p.count
        return p
    }

    /// Allocates the arenas (zero-filled). Called once, after every layer has registered.
    public func finalize() {
        precondition(!isFinalized, "finalize() called twice")
        func zeroed(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(n, 1))
            p.initialize(repeating: 0, count: Swift.max(n, 1))
            return p
        }
        arenas = (zeroed(parameterCount), zeroed(parameterCount), zeroed(bufferCount))
    }

    func valuePointer(_ p: Parameter) -> UnsafeMutablePointer<Float> {
        (p.trainable ? values : bufferValues) + p.offset
    }

    func gradPointer(_ p: Parameter) -> UnsafeMutablePointer<Float> {
        precondition(p.trainable, "buffer '\(p.name)' has no gradient")
        return grads + p.offset
    }

    /// Zeroes every gradient (once per step; backward kernels accumulate).
    public func zeroGrad() {
        memset(grads, 0, parameterCount * MemoryLayout<Float>.stride)
    }

    /// Looks a parameter or buffer up by name.
    public subscript(name: String) -> Parameter? {
        parameters.first { $0.name == name } ?? buffers.first { $0.name == name }
    }
}
