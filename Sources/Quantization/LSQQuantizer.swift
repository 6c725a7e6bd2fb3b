import Foundation
import TensorEngine

/// LSQ (Esser et al. 2020) for unsigned activations: a learnable step s; y = s·round(clamp(x/s, 0, Q)), Q = 2ᵏ − 1.
/// Gradients: dx = dy·[0 ≤ x/s ≤ Q]; ds = g·Σ dy·(round(x/s) − x/s inside, Q above, 0 below) with LSQ's gradient
/// scale g = 1/√(features·Q), features = elements per sample. s is initialised from the first training batch as
/// 2·mean|x|/√Q.
public final class LSQQuantizer: ActivationQuantizer {
    public var kind: ActivationQuantizerKind { .lsq }
    public let bits: Int
    /// [1] learnable step.
    public let step: Parameter
    var initialized = false

    public init(bits: Int, store: ParameterStore, name: String) {
        self.bits = bits
        step = store.parameter("\(name).act_step", shape: [1])
    }

    var s: Float { Swift.max(step.value[0], 1e-6) }
    public var clip: Float { s * Float(levels(bits)) }
    public var parameters: [Parameter] { [step] }

    public func updateClip(x: UnsafePointer<Float>, count: Int, perSample: Int, training: Bool) {
        let q = Float(levels(bits))
        if training && !initialized {
            var m = 0.0
            for i in 0..<count { m += Double(abs(x[i])) }
            step.value[0] = Swift.max(Float(2 * m / Double(Swift.max(count, 1))) / q.squareRoot(), 1e-4)
            initialized = true
        }
    }

    public func backward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         count: Int, perSample: Int) {
        let q = Float(levels(bits)), st = s
        QuantizationKernels.passInside(dx: dx, dy: dy, x: x, count: count, lo: 0, hi: clip)
        let g = 1 / (Float(perSample) * q).squareRoot()
        var ds = 0.0
        for i in 0..<count {
            let v = x[i] / st
            if v >= q { ds += Double(dy[i] * q) } else if v > 0 { ds += Double(dy[i] * ((v.rounded(.toNearestOrEven)) - v)) }
        }
        step.grad[0] += Float(ds) * g
    }
}
