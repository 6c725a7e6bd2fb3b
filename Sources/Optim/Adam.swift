import Foundation
import TensorEngine

/// Adam (Kingma & Ba) and AdamW (Loshchilov & Hutter) with PyTorch's semantics:
///
///     Adam:  g ← ∇ + λ·θ                     AdamW: θ ← θ·(1 − η·λ), g ← ∇
///     m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²
///     θ ← θ − η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
public final class Adam: Optimizer {
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// Decoupled weight decay (AdamW) instead of L2 added to the gradient.
    public let decoupled: Bool
    public private(set) var stepCount = 0
    let store: ParameterStore
    /// [parameterCount] first and second moments, arena layout.
    let m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>

    public init(store: ParameterStore, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                weightDecay: Float = 0, decoupled: Bool = false) {
        self.store = store
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        self.decoupled = decoupled
        let n = Swift.max(store.parameterCount, 1)
        m = .allocate(capacity: n); m.initialize(repeating: 0, count: n)
        v = .allocate(capacity: n); v.initialize(repeating: 0, count: n)
    }

    deinit { m.deallocate(); v.deallocate() }

    public var state: [String: UnsafeMutablePointer<Float>] { ["m": m, "v": v] }

    public func restore(stepCount: Int) { self.stepCount = stepCount }

    public func step(lr: Float) {
        stepCount += 1
        let n = store.parameterCount
        let p = store.values, g = store.grads
        let b1 = beta1, b2 = beta2, wd = weightDecay
        let c1 = 1 - Float(pow(Double(b1), Double(stepCount)))
        let c2 = 1 - Float(pow(Double(b2), Double(stepCount)))
        let stepSize = lr / c1, sqrtC2 = c2.squareRoot()
        let decay: Float = decoupled ? 1 - lr * wd : 1
        for i in 0..<n {
            var d = g[i]
            if decoupled { p[i] *= decay } else { d += wd * p[i] }
            m[i] = b1 * m[i] + (1 - b1) * d
            v[i] = b2 * v[i] + (1 - b2) * d * d
            p[i] -= stepSize * m[i] / (v[i].squareRoot() / sqrtC2 + eps)
        }
    }
}
