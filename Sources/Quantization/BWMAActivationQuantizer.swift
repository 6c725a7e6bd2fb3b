import TensorEngine

/// The BWMA activation quantizer (docs/method.md §2).
///
/// Forward: the exact k-bit staircase y = Δ·round(clamp(x, 0, c)/Δ), Δ = c/(2ᵏ − 1) — what the hardware computes.
/// Backward: the derivative of the soft staircase s(x) = x − (aΔ/2π)·sin(2πx/Δ) on [0, c], the first-harmonic
/// approximation of the staircase that agrees with it at every level: s'(x) = 1 − a·cos(2πx/Δ), 0 outside [0, c].
/// Nothing is searched:
/// - range c = κ_k · rms(x): κ_k minimises the quantization MSE of a ReLU'd standard normal (a batch-normalised
///   pre-activation) in units of its RMS (docs/scripts/bwma_constants.py); rms(x) is the batch's in training and
///   a running average (momentum 0.1, like batch norm) in evaluation and hardware;
/// - sharpness 2π/Δ = 2π(2ᵏ − 1)/c follows from k and c;
/// - amplitude a = ½ (`quant.bwma_amplitude`, default): the smallest gradient inside the range (at the levels) is
///   half the straight-through one and the largest (at the rounding thresholds) 1.5x; a = 0 is the plain
///   straight-through estimator with the BWMA range, a = 1 the full first harmonic (zero gradient at the levels).
///
/// `learnedClip` (`quant.bwma_range: learned`, an ablation of the range rule): c is a parameter instead, initialised
/// from the first training batch by the rule (κ_k·rms) and then learned with the staircase's own derivative —
/// ∂y/∂c = 1 above c, (round(x/Δ) − x/Δ)/(2ᵏ − 1) inside (rounding straight-through), 0 below — scaled like LSQ's
/// step gradient by 1/√(features·(2ᵏ − 1)).
public final class BWMAActivationQuantizer: ActivationQuantizer {
    public var kind: ActivationQuantizerKind { .bwma }
    /// κ_k for k = 1…8 (docs/scripts/bwma_constants.py).
    public static let kappa: [Float] = [1.7310, 2.7610, 3.4986, 4.0994, 4.6246, 5.1017, 5.5444, 5.9605]
    public static let defaultAmplitude: Float = 0.5
    /// a of the soft staircase, in [0, 1].
    public let amplitude: Float
    static let momentum: Float = 0.1

    public let bits: Int
    /// [1] running RMS of the input (buffer, saved with the model).
    public let runningRMS: Parameter
    /// [1] the learned range (nil: c = κ_k·rms, the rule).
    public let learnedClip: Parameter?
    public var parameters: [Parameter] { learnedClip.map { [$0] } ?? [] }
    /// Set in data-parallel training with synchronised statistics: sums [Σx², count] over the job's ranks, so the
    /// range is that of the whole global batch.
    var statisticsReducer: ((UnsafeMutablePointer<Double>, Int) -> Void)?

    public func synchronizeStatistics(with reduce: @escaping (UnsafeMutablePointer<Double>, Int) -> Void) {
        statisticsReducer = reduce
    }
    /// The range used by the last forward.
    public private(set) var clip: Float = 0
    var seenBatch = false

    public init(bits: Int, store: ParameterStore, name: String, amplitude: Float = BWMAActivationQuantizer.defaultAmplitude,
                learnedClip learned: Bool = false) {
        precondition((0...1).contains(amplitude), "the soft staircase's amplitude must be in [0, 1]")
        self.bits = bits
        self.amplitude = amplitude
        runningRMS = store.buffer("\(name).act_rms", shape: [1])
        learnedClip = learned ? store.parameter("\(name).act_clip", shape: [1]) : nil
    }

    public func updateClip(x: UnsafePointer<Float>, count: Int, perSample: Int, training: Bool) {
        let kappa = Self.kappa[bits - 1]
        if training {
            var stats = [QuantizationKernels.sumOfSquares(x, count: count), Double(count)]
            if let reduce = statisticsReducer { stats.withUnsafeMutableBufferPointer { reduce($0.baseAddress!, 2) } }
            let rms = Float((stats[0] / Swift.max(stats[1], 1)).squareRoot())
            let r = runningRMS.value
            r[0] = seenBatch || r[0] > 0 ? (1 - Self.momentum) * r[0] + Self.momentum * rms : rms
            clip = Swift.max(kappa * rms, 1e-6)
            if let c = learnedClip, !seenBatch && c.value[0] <= 0 { c.value[0] = clip }
            seenBatch = true
        } else {
            clip = Swift.max(kappa * runningRMS.value[0], 1e-6)
        }
        if let c = learnedClip { clip = Swift.max(c.value[0], 1e-6) }
    }

    /// Whether `backwardAddingMasked` applies: the range is the rule's (a learned range's gradient reads the
    /// staircase's pass on its own).
    public var addsMaskedInBackward: Bool { learnedClip == nil }

    /// `backward` fused with the sum after it in a residual block (`BasicBlock`): out = (dx + shortcut) where x > 0,
    /// else 0, dx this quantizer's input gradient from dy at x — one pass over the activations instead of two
    /// (the same bits; dy may be overwritten). Requires `addsMaskedInBackward`.
    public func backwardAddingMasked(out: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>,
                                     x: UnsafePointer<Float>, shortcut: UnsafePointer<Float>, count: Int) {
        precondition(addsMaskedInBackward, "backwardAddingMasked with a learned range")
        QuantizationKernels.softStaircaseBackwardAddMasked(out: out, dy: dy, x: x, shortcut: shortcut, count: count,
                                                           clip: clip, levels: levels(bits), amplitude: amplitude)
    }

    public func backward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         count: Int, perSample: Int) {
        QuantizationKernels.softStaircaseBackward(dx: dx, dy: dy, x: x, count: count, clip: clip,
                                                  levels: levels(bits), amplitude: amplitude)
        guard let c = learnedClip else { return }
        let l = Float(levels(bits)), delta = clip / l
        var dc = 0.0
        for i in 0..<count {
            let v = x[i]
            if v >= clip { dc += Double(dy[i]) } else if v > 0 {
                let u = v / delta
                dc += Double(dy[i] * (u.rounded(.toNearestOrEven) - u) / l)
            }
        }
        c.grad[0] += Float(dc) / (Float(perSample) * l).squareRoot()
    }
}
