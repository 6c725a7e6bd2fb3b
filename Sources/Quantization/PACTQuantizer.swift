import TensorEngine

/// PACT (Choi et al. 2018): a learnable clip α per layer; y = round_k(clamp(x, 0, α)). Gradients: dx = dy·[0 ≤ x ≤ α]
/// (straight-through), dα = Σ dy·[x > α] (the original PACT rule). α starts at 6 (ReLU6's range for BN-normalised
/// inputs) and is kept ≥ 1e-3. The optimiser's weight decay acts on α as PACT's L2 term.
public final class PACTQuantizer: ActivationQuantizer {
    public var kind: ActivationQuantizerKind { .pact }
    public let bits: Int
    /// [1] learnable clip.
    public let alpha: Parameter
    static let initialClip: Float = 6

    public init(bits: Int, store: ParameterStore, name: String) {
        self.bits = bits
        alpha = store.parameter("\(name).act_clip", shape: [1])
    }

    public var clip: Float { Swift.max(alpha.value[0], 1e-3) }
    public var parameters: [Parameter] { [alpha] }

    /// Called after the arena exists.
    public func initialize() { alpha.value[0] = Self.initialClip }

    public func backward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         count: Int, perSample: Int) {
        let c = clip
        QuantizationKernels.passInside(dx: dx, dy: dy, x: x, count: count, lo: 0, hi: c)
        var s = 0.0
        for i in 0..<count where x[i] > c { s += Double(dy[i]) }
        alpha.grad[0] += Float(s)
    }
}
