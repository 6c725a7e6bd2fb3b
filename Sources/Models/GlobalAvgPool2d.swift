import TensorEngine

/// Mean over H·W: [N, C, H, W] → [N, C].
public final class GlobalAvgPool2d: Layer {
    let y = Tensor(shape: [0]), dx = Tensor(shape: [0])
    var inputShape: [Int] = []

    public init() {}

    public func outputShape(for input: [Int]) -> [Int] { [input[0]] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4, "GlobalAvgPool2d expects [N, C, H, W], got \(x.shape)")
        y.ensure(shape: [x.shape[0], x.shape[1]])
        PoolingKernels.globalAvgForward(y: y.data, x: x.data, planes: x.shape[0] * x.shape[1],
                                        spatial: x.shape[2] * x.shape[3])
        inputShape = x.shape
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        dx.ensure(shape: inputShape)
        PoolingKernels.globalAvgBackward(dx: dx.data, dy: dy.data, planes: inputShape[0] * inputShape[1],
                                         spatial: inputShape[2] * inputShape[3])
        return dx
    }
}
