import TensorEngine

/// Mean over H·W: [N, C, H, W] → [N, C] (NCHW or channels-last input).
public final class GlobalAvgPool2d: Layer {
    let y = Tensor(shape: [0]), dx = Tensor(shape: [0])
    var inputShape: [Int] = []
    var inputLayout = Tensor.Layout.nchw

    public init() {}

    public func outputShape(for input: [Int]) -> [Int] { [input[0]] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4, "GlobalAvgPool2d expects [N, C, H, W], got \(x.shape)")
        y.ensure(shape: [x.shape[0], x.shape[1]])
        y.layout = .nchw
        if x.layout == .nhwc {
            PoolingKernels.globalAvgForwardChannelsLast(y: y.data, x: x.data, batch: x.shape[0], channels: x.shape[1],
                                                        spatial: x.shape[2] * x.shape[3])
        } else {
            PoolingKernels.globalAvgForward(y: y.data, x: x.data, planes: x.shape[0] * x.shape[1],
                                            spatial: x.shape[2] * x.shape[3])
        }
        inputShape = x.shape
        inputLayout = x.layout
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        dx.ensure(shape: inputShape)
        dx.layout = inputLayout
        if inputLayout == .nhwc {
            PoolingKernels.globalAvgBackwardChannelsLast(dx: dx.data, dy: dy.data, batch: inputShape[0],
                                                         channels: inputShape[1], spatial: inputShape[2] * inputShape[3])
        } else {
            PoolingKernels.globalAvgBackward(dx: dx.data, dy: dy.data, planes: inputShape[0] * inputShape[1],
                                             spatial: inputShape[2] * inputShape[3])
        }
        return dx
    }
}
