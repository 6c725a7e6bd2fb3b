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
/// - amplitude a = ½: the smallest gradient inside the range (at the levels) is half the straight-through one and
///   the largest (at the rounding thresholds) 1.5x.
public final class BWMAActivationQuantizer: ActivationQuantizer {
    public var kind: ActivationQuantizerKind { .bwma }
    /// κ_k for k = 1…8 (docs/scripts/bwma_constants.py).
    public static let kappa: [Float] = [1.7310, 2.7610, 3.4986, 4.0994, 4.6246, 5.1017, 5.5444, 5.9605]
    public static let amplitude: Float = 0.5
    static let momentum: Float = 0.1

    public let bits: Int
    /// [1] running RMS of the input (buffer, saved with the model).
    public let runningRMS: Parameter
    /// Set in data-parallel training with synchronised statistics: sums [Σx², count] over the job's ranks, so the
    /// range is that of the whole global batch.
    var statisticsReducer: ((UnsafeMutablePointer<Double>, Int) -> Void)?

    public func synchronizeStatistics(with reduce: @escaping (UnsafeMutablePointer<Double>, Int) -> Void) {
        statisticsReducer = reduce
    }
    /// The range used by the last forward.
    public private(set) var clip: Float = 0
    var seenBatch = false

    public init(bits: Int, store: ParameterStore, name: String) {
        self.bits = bits
        runningRMS = store.buffer("\(name).act_rms", shape: [1])
    }

    public func forward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int, perSample: Int,
                        training: Bool) {
        let kappa = Self.kappa[bits - 1]
        if training {
            var stats = [QuantizationKernels.sumOfSquares(x, count: count), Double(count)]
            if let reduce = statisticsReducer { stats.withUnsafeMutableBufferPointer { reduce($0.baseAddress!, 2) } }
            let rms = Float((stats[0] / Swift.max(stats[1], 1)).squareRoot())
            let r = runningRMS.value
            r[0] = seenBatch || r[0] > 0 ? (1 - Self.momentum) * r[0] + Self.momentum * rms : rms
            seenBatch = true
            clip = Swift.max(kappa * rms, 1e-6)
        } else {
            clip = Swift.max(kappa * runningRMS.value[0], 1e-6)
        }
        QuantizationKernels.quantize(y: y, x: x, count: count, clip: clip, levels: levels(bits))
    }

    public func backward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         count: Int, perSample: Int) {
        QuantizationKernels.softStaircaseBackward(dx: dx, dy: dy, x: x, count: count, clip: clip,
                                                  levels: levels(bits), amplitude: Self.amplitude)
    }
}
