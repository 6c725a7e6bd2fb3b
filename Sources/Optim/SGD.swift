import Foundation
import TensorEngine

/// Stochastic gradient descent with PyTorch's semantics (`torch.optim.SGD`):
///
///     g ← ∇ + λ·θ
///     b ← μ·b + (1 − τ)·g        (b ← g on the first step)
///     g ← g + μ·b  (Nesterov)    or   g ← b
///     θ ← θ − η·g
public final class SGD: Optimizer {
    public let momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool
    public private(set) var stepCount = 0
    let store: ParameterStore
    /// [parameterCount] momentum buffer, arena layout.
    let buffer: UnsafeMutablePointer<Float>

    public init(store: ParameterStore, momentum: Float = 0, dampening: Float = 0, weightDecay: Float = 0,
                nesterov: Bool = false) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "Nesterov needs momentum > 0 and no dampening")
        self.store = store
        self.momentum = momentum; self.dampening = dampening; self.weightDecay = weightDecay; self.nesterov = nesterov
        buffer = .allocate(capacity: Swift.max(store.parameterCount, 1))
        buffer.initialize(repeating: 0, count: Swift.max(store.parameterCount, 1))
    }

    deinit { buffer.deallocate() }

    public func step(lr: Float) {
        let n = store.parameterCount
        let p = store.values, g = store.grads, b = buffer
        let mu = momentum, wd = weightDecay, damp = 1 - dampening, first = stepCount == 0
        if mu == 0 {
            for i in 0..<n { p[i] -= lr * (g[i] + wd * p[i]) }
        } else if nesterov {
            for i in 0..<n {
                let d = g[i] + wd * p[i]
                let m = first ? d : mu * b[i] + damp * d
                b[i] = m
                p[i] -= lr * (d + mu * m)
            }
        } else {
            for i in 0..<n {
                let d = g[i] + wd * p[i]
                let m = first ? d : mu * b[i] + damp * d
                b[i] = m
                p[i] -= lr * m
            }
        }
        stepCount += 1
    }

    public var state: [String: UnsafeMutablePointer<Float>] { ["momentum": buffer] }

    public func restore(stepCount: Int) { self.stepCount = stepCount }

    /// The momentum buffer as an array (tests, checkpoints).
    public var momentumBuffer: [Float] { Array(UnsafeBufferPointer(start: buffer, count: store.parameterCount)) }
}
