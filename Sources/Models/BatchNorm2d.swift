import TensorEngine

/// Batch normalisation over channels of an NCHW or channels-last tensor (also [N, C] when given a flat input),
/// PyTorch semantics:
/// γ = 1, β = 0, running mean 0 / variance 1, momentum 0.1, ε = 1e-5. With `fusedReLU` it is BN followed by ReLU
/// in one layer (one pass each way instead of two).
public final class BatchNorm2d: Layer {
    public let gamma: Parameter, beta: Parameter
    public let runningMean: Parameter, runningVar: Parameter
    public let channels: Int
    public let momentum: Float, eps: Float
    public let fusedReLU: Bool
    /// Set for synchronised batch norm: sums the batch statistics (and their gradients) over the job's ranks.
    public var statisticsReducer: BatchNormKernel.Reduce?

    /// [N, C, H, W] the output, unless written into `outputScratch`.
    let y = Tensor(shape: [0])
    /// Set by an owner for which nothing reads this layer's output once the next layer's forward has run (a
    /// residual sum, a max pool): the output is then written into this scratch — gradient buffers, dead during
    /// forward — instead of a buffer of its own, unless backward reads the output (the fused ReLU's mask on the
    /// NCHW or evaluation kernels; the channels-last training kernels recompute it from x). ResNet-18 at batch 32:
    /// −220 MB of peak memory (the stem's output and every block's second batch norm and projection).
    var outputScratch: Tensor?
    /// The tensor the last forward wrote (`y` or `outputScratch`).
    private var output: Tensor?
    /// Replaceable by an owner that shares gradient buffers between layers (see `BlockGradientBuffers`).
    var dx = Tensor(shape: [0])
    /// Set by an owner for which the incoming gradient is dead once this backward returns: dx is then written over
    /// dy and returned (no buffer of its own — 103 MB for ResNet-18's stem at batch 32). Both kernels read each
    /// element of dy before writing dx at the same place.
    var gradientInPlace = false
    /// Whether a backward after a bf16 input (a bf16 convolution's output) writes dx in bf16 — the same bits the
    /// convolution would round a Float dx to, without the Float pass and the conversion. Off only to compare.
    public var writesBF16Gradient = true
    /// The element type of the last backward's dx (diagnostics, tests).
    public private(set) var lastGradientType = Tensor.ElementType.float32
    /// Set by an owner whose next layer is the only reader of this layer's output and reads it in bf16
    /// (`Conv2d.readsBF16Input`): a training forward after a bf16 convolution then writes y in bf16 — the bits that
    /// layer would round a Float y to, without the Float pass and the conversion (and half the memory). Where
    /// backward reads y (a fused ReLU's mask outside the channels-last training kernels), y stays Float.
    public var writesBF16Output = false
    /// The element type of the last forward's y (diagnostics, tests).
    public private(set) var lastOutputType = Tensor.ElementType.float32
    /// [C] batch mean and 1/√(var + ε) saved by the training forward.
    let mean: Tensor, invStd: Tensor
    var input: Tensor?
    var trainedForward = false

    public init(_ store: ParameterStore, _ name: String, channels: Int, momentum: Float = 0.1, eps: Float = 1e-5,
                fusedReLU: Bool = false) {
        self.channels = channels
        self.fusedReLU = fusedReLU
        self.momentum = momentum
        self.eps = eps
        gamma = store.parameter("\(name).weight", shape: [channels])
        beta = store.parameter("\(name).bias", shape: [channels])
        runningMean = store.buffer("\(name).running_mean", shape: [channels])
        runningVar = store.buffer("\(name).running_var", shape: [channels])
        mean = Tensor(shape: [channels])
        invStd = Tensor(shape: [channels])
    }

    public var ownParameters: [Parameter] { [gamma, beta] }

    public func outputShape(for input: [Int]) -> [Int] {
        precondition(input.first == channels, "BatchNorm2d(\(channels)) got per-sample shape \(input)")
        return input
    }

    public func initialize(rng: inout RNG) {
        Initializers.constant(gamma, 1)
        Initializers.constant(beta, 0)
        Initializers.constant(runningMean, 0)
        Initializers.constant(runningVar, 1)
    }

    private func spatial(_ x: Tensor) -> Int { x.count / (x.shape[0] * channels) }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count >= 2 && x.shape[1] == channels, "BatchNorm2d(\(channels)) got \(x.shape)")
        let channelsLast = x.layout == .nhwc && x.shape.count == 4
        let backwardReadsOutput = fusedReLU && !(channelsLast && training)
        let y = backwardReadsOutput ? self.y : outputScratch ?? self.y
        let bf16 = writesBF16Output && training && x.elementType == .bfloat16 && !backwardReadsOutput
        run(x, training: training, into: y, bf16Output: bf16, residual: nil, relu: fusedReLU)
        return y
    }

    /// A residual block's tail in one pass: out = max(bn(x) + residual, 0), the arithmetic of this forward followed
    /// by `ElementwiseKernels.addRelu` (the same bits), without writing and re-reading bn(x). Channels-last x and
    /// residual of x's shape, no fused ReLU of its own; false (nothing done) otherwise — the caller then runs both.
    /// Backward is this layer's ordinary backward (it never reads its output without a fused ReLU).
    /// `copy`: where the training kernels after a bf16 x run, out is also written rounded to bf16 into `copy`, in
    /// the same pass (`lastWroteCopy` says whether it was).
    public func forward(_ x: Tensor, training: Bool, addingReLU residual: Tensor, into out: Tensor,
                        copy: Tensor? = nil) -> Bool {
        guard !fusedReLU, x.layout == .nhwc, x.shape.count == 4, residual.layout == .nhwc,
              residual.shape == x.shape, residual.elementType == .float32, x.shape[1] == channels
        else { return false }
        run(x, training: training, into: out, bf16Output: false, residual: residual, relu: true, copy: copy)
        return true
    }

    /// Whether the last forward wrote a bf16 copy of its output (diagnostics, and for the copy's reader).
    public private(set) var lastWroteCopy = false

    /// bf16Output, copy: only after a bf16 x, training.
    private func run(_ x: Tensor, training: Bool, into y: Tensor, bf16Output: Bool, residual: Tensor?, relu: Bool,
                     copy: Tensor? = nil) {
        let n = x.shape[0], hw = spatial(x), channelsLast = x.layout == .nhwc && x.shape.count == 4
        y.ensure(shape: x.shape, elementType: bf16Output ? .bfloat16 : .float32)
        y.layout = x.layout
        lastOutputType = y.elementType
        let r = residual.map { UnsafePointer($0.data) }
        let copy = training && x.elementType == .bfloat16 && !bf16Output ? copy : nil
        copy?.ensure(shape: x.shape, elementType: .bfloat16)
        copy?.layout = x.layout
        lastWroteCopy = copy != nil
        if x.elementType == .bfloat16 {
            precondition(channelsLast, "BatchNorm2d: a bf16 input must be channels-last [N, C, H, W]")
            forward(bf16: x.bf16Data, y: y, batch: n, spatial: hw, training: training, relu: relu, residual: r,
                    copy: copy?.bf16Data)
        } else if training {
            BatchNormKernel.forwardTraining(
                y: y.data, mean: mean.data, invStd: invStd.data, x: x.data, gamma: gamma.value, beta: beta.value,
                runningMean: runningMean.value, runningVar: runningVar.value,
                batch: n, channels: channels, spatial: hw, momentum: momentum, eps: eps, relu: relu,
                reduce: statisticsReducer, channelsLast: channelsLast, residual: r)
        } else {
            BatchNormKernel.forwardInference(
                y: y.data, x: x.data, gamma: gamma.value, beta: beta.value, runningMean: runningMean.value,
                runningVar: runningVar.value, batch: n, channels: channels, spatial: hw, eps: eps, relu: relu,
                channelsLast: channelsLast, residual: r)
        }
        input = x
        output = y
        trainedForward = training
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input, let y = output else { preconditionFailure("BatchNorm2d.backward without a forward") }
        precondition(!gradientInPlace || (dy.shape == x.shape && dy.layout == x.layout), "in-place gradient shape")
        let dx = gradientInPlace ? dy : dx
        // After a bf16 convolution the gradient goes back in bf16, the precision that convolution's backward reads
        // (not in place: bf16 elements written over Float ones would overtake the reads of another worker).
        let bf16Gradient = x.elementType == .bfloat16 && trainedForward && !gradientInPlace && writesBF16Gradient
        dx.ensure(shape: x.shape, elementType: bf16Gradient ? .bfloat16 : .float32)
        lastGradientType = dx.elementType
        dx.layout = x.layout
        let n = x.shape[0], hw = spatial(x), channelsLast = x.layout == .nhwc && x.shape.count == 4
        // The fused ReLU's mask: read from y, except by the channels-last training kernels, which recompute it from
        // x and only test the pointer — the one case where y may be bf16 (`writesBF16Output`).
        precondition(y.elementType == .float32 || (trainedForward && x.elementType == .bfloat16), "bf16 y read")
        let relu = fusedReLU ? UnsafePointer(y.rawData.assumingMemoryBound(to: Float.self)) : nil
        if x.elementType == .bfloat16 {
            backward(bf16: x.bf16Data, dx: dx, dy: dy.data, batch: n, spatial: hw, reluOutput: relu)
        } else if trainedForward {
            BatchNormKernel.backwardTraining(
                dx: dx.data, dGamma: gamma.grad, dBeta: beta.grad, dy: dy.data, x: x.data, gamma: gamma.value,
                mean: mean.data, invStd: invStd.data, batch: n, channels: channels, spatial: hw,
                reluOutput: relu, reluBeta: beta.value, reduce: statisticsReducer, channelsLast: channelsLast)
        } else {
            BatchNormKernel.backwardInference(
                dx: dx.data, dGamma: gamma.grad, dBeta: beta.grad, dy: dy.data, x: x.data, gamma: gamma.value,
                runningMean: runningMean.value, runningVar: runningVar.value,
                batch: n, channels: channels, spatial: hw, eps: eps, reluOutput: relu, channelsLast: channelsLast)
        }
        return dx
    }
}

/// A bf16 input: a convolution's output that mixed precision stored in bf16 (`Conv2d.outputFeedsBatchNorm`),
/// always channels-last. The kernels widen it exactly; everything else is as for a Float input.
extension BatchNorm2d {
    /// y is Float, or bf16 after a training forward (`writesBF16Output`).
    func forward(bf16 x: UnsafePointer<BFloat16>, y: Tensor, batch n: Int, spatial hw: Int,
                 training: Bool, relu: Bool, residual: UnsafePointer<Float>?, copy: UnsafeMutablePointer<BFloat16>?) {
        if training {
            BatchNormKernel.forwardTrainingChannelsLast(
                y: y.rawData, bf16Output: y.elementType == .bfloat16, mean: mean.data, invStd: invStd.data, x: x,
                gamma: gamma.value, beta: beta.value, runningMean: runningMean.value, runningVar: runningVar.value,
                batch: n, channels: channels, spatial: hw, momentum: momentum, eps: eps, relu: relu,
                reduce: statisticsReducer, residual: residual, copy: copy)
        } else {
            BatchNormKernel.forwardInferenceChannelsLast(
                y: y.data, x: x, gamma: gamma.value, beta: beta.value, runningMean: runningMean.value,
                runningVar: runningVar.value, batch: n, channels: channels, spatial: hw, eps: eps, relu: relu,
                residual: residual)
        }
    }

    /// dx is Float, or bf16 after a training forward (`writesBF16Gradient`).
    func backward(bf16 x: UnsafePointer<BFloat16>, dx: Tensor, dy: UnsafePointer<Float>,
                  batch n: Int, spatial hw: Int, reluOutput relu: UnsafePointer<Float>?) {
        if trainedForward {
            BatchNormKernel.backwardTrainingChannelsLast(
                dx: dx.rawData, bf16Gradient: dx.elementType == .bfloat16, dGamma: gamma.grad, dBeta: beta.grad,
                dy: dy, x: x, gamma: gamma.value, mean: mean.data, invStd: invStd.data, batch: n, channels: channels,
                spatial: hw, reluOutput: relu, reluBeta: beta.value, reduce: statisticsReducer)
        } else {
            BatchNormKernel.backwardInferenceChannelsLast(
                dx: dx.data, dGamma: gamma.grad, dBeta: beta.grad, dy: dy, x: x, gamma: gamma.value,
                runningMean: runningMean.value, runningVar: runningVar.value, batch: n, channels: channels,
                spatial: hw, eps: eps, reluOutput: relu)
        }
    }
}
