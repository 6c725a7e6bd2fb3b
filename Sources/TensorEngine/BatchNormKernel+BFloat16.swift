/// The channels-last kernels (BatchNormKernel+ChannelsLast.swift) on a bf16 input x, where a mixed-precision
/// convolution stored its output so: widened exactly, a bf16 x gives bit for bit the result of the same values in
/// Float. Outputs, gradients and statistics are Float. (Float inputs go through `forwardTraining` and the others.)
extension BatchNormKernel {
    /// Training forward on a channels-last bf16 x, y [N, HW, C]; as `forwardTraining`. y is Float, or with
    /// `bf16Output` bf16 (the input a bf16 convolution reads) — bit for bit the Float result rounded to nearest,
    /// ties to even. `copy`: a Float y rounded so as well, in the same pass (a block's output, which the next
    /// block's convolutions read in bf16 and its shortcut in Float).
    public static func forwardTrainingChannelsLast(
        y: UnsafeMutableRawPointer, bf16Output: Bool = false, mean: UnsafeMutablePointer<Float>,
        invStd: UnsafeMutablePointer<Float>, x: UnsafePointer<BFloat16>, gamma: UnsafePointer<Float>,
        beta: UnsafePointer<Float>, runningMean: UnsafeMutablePointer<Float>,
        runningVar: UnsafeMutablePointer<Float>, batch: Int, channels: Int, spatial: Int, momentum: Float,
        eps: Float, relu: Bool = false, reduce: Reduce? = nil, residual: UnsafePointer<Float>? = nil,
        copy: UnsafeMutablePointer<BFloat16>? = nil
    ) {
        func run<Y: NormOutput>(_ y: UnsafeMutablePointer<Y>) {
            channelsLastForwardTraining(y: y, mean: mean, invStd: invStd, x: x, gamma: gamma, beta: beta,
                                        runningMean: runningMean, runningVar: runningVar, batch: batch,
                                        channels: channels, spatial: spatial, momentum: momentum, eps: eps,
                                        relu: relu, reduce: reduce, residual: residual, copy: copy)
        }
        if bf16Output {
            run(y.assumingMemoryBound(to: BFloat16.self))
        } else {
            run(y.assumingMemoryBound(to: Float.self))
        }
    }

    /// Evaluation forward on a channels-last bf16 x with running statistics; as `forwardInference`.
    public static func forwardInferenceChannelsLast(
        y: UnsafeMutablePointer<Float>, x: UnsafePointer<BFloat16>, gamma: UnsafePointer<Float>,
        beta: UnsafePointer<Float>, runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, eps: Float, relu: Bool = false,
        residual: UnsafePointer<Float>? = nil
    ) {
        channelsLastForwardInference(y: y, x: x, gamma: gamma, beta: beta, runningMean: runningMean,
                                     runningVar: runningVar, batch: batch, channels: channels, spatial: spatial,
                                     eps: eps, relu: relu, residual: residual)
    }

    /// Training backward on a channels-last bf16 x; as `backwardTraining`. dx is Float, or with `bf16Gradient`
    /// bf16 (the gradient a bf16 convolution reads) — bit for bit the Float result rounded to nearest, ties to even.
    public static func backwardTrainingChannelsLast(
        dx: UnsafeMutableRawPointer, bf16Gradient: Bool = false, dGamma: UnsafeMutablePointer<Float>,
        dBeta: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<BFloat16>,
        gamma: UnsafePointer<Float>, mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, reluOutput: UnsafePointer<Float>? = nil,
        reluBeta: UnsafePointer<Float>? = nil, reduce: Reduce? = nil
    ) {
        func run<DX: NormOutput>(_ dx: UnsafeMutablePointer<DX>) {
            channelsLastBackwardTraining(dx: dx, dGamma: dGamma, dBeta: dBeta, dy: dy, x: x, gamma: gamma, mean: mean,
                                         invStd: invStd, batch: batch, channels: channels, spatial: spatial,
                                         reluOutput: reluOutput, reluBeta: reluBeta, reduce: reduce)
        }
        if bf16Gradient {
            run(dx.assumingMemoryBound(to: BFloat16.self))
        } else {
            run(dx.assumingMemoryBound(to: Float.self))
        }
    }

    /// Backward through the evaluation transform on a channels-last bf16 x; as `backwardInference`.
    public static func backwardInferenceChannelsLast(
        dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<BFloat16>, gamma: UnsafePointer<Float>,
        runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, eps: Float, reluOutput: UnsafePointer<Float>? = nil
    ) {
        channelsLastBackwardInference(dx: dx, dGamma: dGamma, dBeta: dBeta, dy: dy, x: x, gamma: gamma,
                                      runningMean: runningMean, runningVar: runningVar, batch: batch,
                                      channels: channels, spatial: spatial, eps: eps, reluOutput: reluOutput)
    }
}
