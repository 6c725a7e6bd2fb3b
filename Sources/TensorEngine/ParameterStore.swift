import Foundation

/// One contiguous arena for a model's trainable parameters and their gradients, and a second one for its buffers.
///
/// Registration order is layer order (forward order); `GradientSync` walks it backwards to form buckets.
public final class ParameterStore: @unchecked Sendable {
    /// Trainable parameters in registration order.
    public private(set) var parameters: [Parameter] = []
    /// Non-trainable buffers (running statistics) in registration order.
    public private(set) var buffers: [Parameter] = []
    /// Total trainable element count.
    public private(set) var parameterCount = 0
    /// Total buffer element count.
    public private(set) var bufferCount = 0

    /// [parameterCount] values of all trainable parameters.
    public private(set) var values: UnsafeMutablePointer<Float>?
    /// [parameterCount] gradients, same layout as `values`.
    public private(set) var grads: UnsafeMutablePointer<Float>?
    /// [bufferCount] buffer values.
    public private(set) var bufferValues: UnsafeMutablePointer<Float>?

    public init() {}

    deinit {
        values?.deallocate()
        grads?.deallocate()
        bufferValues?.deallocate()
    }

    /// Whether `finalize()` has run.
    public var isFinalized: Bool { values != nil }

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
        values = .allocate(capacity: Swift.max(parameterCount, 1))
        grads = .allocate(capacity: Swift.max(parameterCount, 1))
        bufferValues = .allocate(capacity: Swift.max(bufferCount, 1))
        values!.initialize(repeating: 0, count: Swift.max(parameterCount, 1))
        grads!.initialize(repeating: 0, count: Swift.max(parameterCount, 1))
        bufferValues!.initialize(repeating: 0, count: Swift.max(bufferCount, 1))
    }

    func valuePointer(_ p: Parameter) -> UnsafeMutablePointer<Float> {
        (p.trainable ? values! : bufferValues!) + p.offset
    }

    func gradPointer(_ p: Parameter) -> UnsafeMutablePointer<Float> {
        precondition(p.trainable, "buffer '\(p.name)' has no gradient")
        return grads! + p.offset
    }

    /// Zeroes every gradient (once per step; backward kernels accumulate).
    public func zeroGrad() {
        memset(grads!, 0, parameterCount * MemoryLayout<Float>.stride)
    }

    /// Looks a parameter or buffer up by name.
    public subscript(name: String) -> Parameter? {
        parameters.first { $0.name == name } ?? buffers.first { $0.name == name }
    }
}
