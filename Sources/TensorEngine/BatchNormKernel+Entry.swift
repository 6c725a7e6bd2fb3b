/// The channels-last kernels' entry points for both input types (BatchNormKernel+ChannelsLast.swift): x in Float,
/// or in bf16 where a mixed-precision convolution stored its output so — widened exactly, so a bf16 x gives bit for
/// bit the result of the same values in Float. Outputs, gradients and statistics are Float either way.
extension BatchNormKernel {
    /// Training forward on channels-last x, y [N, HW, C]; as `forwardTraining`.
    public static func forwardTrainingChannelsLast(
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>,
        x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        runningMean: UnsafeMutablePointer<Float>, runningVar: UnsafeMutablePointer<Float>,
        batch: Int, channels: Int, spatial: Int, momentum: Float, eps: Float, relu: Bool = false,
        reduce: Reduce? = nil
    ) {
        channelsLastForwardTraining(y: y, mean: mean, invStd: invStd, x: x, gamma: gamma, beta: beta,
                                    runningMean: runningMean, runningVar: runningVar, batch: batch,
                                    channels: channels, spatial: spatial, momentum: momentum, eps: eps, relu: relu,
                                    reduce: reduce)
    }

    /// As above, x in bf16.
    public static func forwardTrainingChannelsLast(
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>,
        x: UnsafePointer<BFloat16>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        runningMean: UnsafeMutablePointer<Float>, runningVar: UnsafeMutablePointer<Float>,
        batch: Int, channels: Int, spatial: Int, momentum: Float, eps: Float, relu: Bool = false,
        reduce: Reduce? = nil
    ) {
        channelsLastForwardTraining(y: y, mean: mean, invStd: invStd, x: x, gamma: gamma, beta: beta,
                                    runningMean: runningMean, runningVar: runningVar, batch: batch,
                                    channels: channels, spatial: spatial, momentum: momentum, eps: eps, relu: relu,
                                    reduce: reduce)
    }

    /// Evaluation forward on channels-last tensors with running statistics.
    public static func forwardInferenceChannelsLast(
        y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        beta: UnsafePointer<Float>, runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, eps: Float, relu: Bool = false
    ) {
        channelsLastForwardInference(y: y, x: x, gamma: gamma, beta: beta, runningMean: runningMean,
                                     runningVar: runningVar, batch: batch, channels: channels, spatial: spatial,
                                     eps: eps, relu: relu)
    }

    /// As above, x in bf16.
    public static func forwardInferenceChannelsLast(
        y: UnsafeMutablePointer<Float>, x: UnsafePointer<BFloat16>, gamma: UnsafePointer<Float>,
        beta: UnsafePointer<Float>, runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, eps: Float, relu: Bool = false
    ) {
        channelsLastForwardInference(y: y, x: x, gamma: gamma, beta: beta, runningMean: runningMean,
                                     runningVar: runningVar, batch: batch, channels: channels, spatial: spatial,
                                     eps: eps, relu: relu)
    }

    /// Training backward on channels-last tensors; as `backwardTraining`.
    public static func backwardTrainingChannelsLast(
        dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, reluOutput: UnsafePointer<Float>? = nil,
        reluBeta: UnsafePointer<Float>? = nil, reduce: Reduce? = nil
    ) {
        channelsLastBackwardTraining(dx: dx, dGamma: dGamma, dBeta: dBeta, dy: dy, x: x, gamma: gamma, mean: mean,
                                     invStd: invStd, batch: batch, channels: channels, spatial: spatial,
                                     reluOutput: reluOutput, reluBeta: reluBeta, reduce: reduce)
    }

    /// As above, x in bf16.
    public static func backwardTrainingChannelsLast(
        dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<BFloat16>, gamma: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, reluOutput: UnsafePointer<Float>? = nil,
        reluBeta: UnsafePointer<Float>? = nil, reduce: Reduce? = nil
    ) {
        channelsLastBackwardTraining(dx: dx, dGamma: dGamma, dBeta: dBeta, dy: dy, x: x, gamma: gamma, mean: mean,
                                     invStd: invStd, batch: batch, channels: channels, spatial: spatial,
                                     reluOutput: reluOutput, reluBeta: reluBeta, reduce: reduce)
    }

    /// Backward through the evaluation transform on channels-last tensors.
    public static func backwardInferenceChannelsLast(
        dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, eps: Float, reluOutput: UnsafePointer<Float>? = nil
    ) {
        channelsLastBackwardInference(dx: dx, dGamma: dGamma, dBeta: dBeta, dy: dy, x: x, gamma: gamma,
                                      runningMean: runningMean, runningVar: runningVar, batch: batch,
                                      channels: channels, spatial: spatial, eps: eps, reluOutput: reluOutput)
    }

    /// As above, x in bf16.
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
