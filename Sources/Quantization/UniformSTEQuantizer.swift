import TensorEngine

/// DoReFa-style baseline: clip to [0, 1], round to k bits, straight-through gradient inside [0, 1].
public final class UniformSTEQuantizer: ActivationQuantizer {
    public var kind: ActivationQuantizerKind { .uniformSTE }
    public let bits: Int
    public var clip: Float { 1 }

    public init(bits: Int) { self.bits = bits }

    public func backward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         count: Int, perSample: Int) {
        QuantizationKernels.passInside(dx: dx, dy: dy, x: x, count: count, lo: 0, hi: 1)
    }
}
