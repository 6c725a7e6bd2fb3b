import TensorEngine

/// Max pooling with a square window (padding counts as −∞).
public final class MaxPool2d: Layer {
    public let kernel: Int, stride: Int, padding: Int
    let y = Tensor(shape: [0]), dx = Tensor(shape: [0])
    /// [N, C, outH, outW] flat winner index within each input plane.
    var argmax: UnsafeMutablePointer<Int32>?
    var argmaxCapacity = 0
    var geometry: ConvGeometry?
    var inputShape: [Int] = []

    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernel = kernel; self.stride = stride ?? kernel; self.padding = padding
    }

    deinit { argmax?.deallocate() }

    func geometry(_ s: [Int]) -> ConvGeometry {
        ConvGeometry(channels: s[0], height: s[1], width: s[2], kernel: (kernel, kernel), stride: (stride, stride),
                     padding: (padding, padding))
    }

    public func outputShape(for input: [Int]) -> [Int] {
        let g = geometry(input)
        return [input[0], g.outH, g.outW]
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4, "MaxPool2d expects [N, C, H, W], got \(x.shape)")
        let n = x.shape[0]
        let g = geometry(Array(x.shape.dropFirst()))
        y.ensure(shape: [n, g.channels, g.outH, g.outW])
        if argmaxCapacity < y.count {
            argmax?.deallocate()
            argmax = .allocate(capacity: y.count)
            argmaxCapacity = y.count
        }
        PoolingKernels.maxForward(y: y.data, argmax: argmax!, x: x.data, batch: n, geometry: g)
        geometry = g
        inputShape = x.shape
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let g = geometry else { preconditionFailure("MaxPool2d.backward without a forward") }
        dx.ensure(shape: inputShape)
        PoolingKernels.maxBackward(dx: dx.data, dy: dy.data, argmax: argmax!, batch: inputShape[0], geometry: g)
        return dx
    }
}

/// Average pooling with a square window (divisor kh·kw, PyTorch's default).
public final class AvgPool2d: Layer {
    public let kernel: Int, stride: Int, padding: Int
    let y = Tensor(shape: [0]), dx = Tensor(shape: [0])
    var geometry: ConvGeometry?
    var inputShape: [Int] = []

    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernel = kernel; self.stride = stride ?? kernel; self.padding = padding
    }

    func geometry(_ s: [Int]) -> ConvGeometry {
        ConvGeometry(channels: s[0], height: s[1], width: s[2], kernel: (kernel, kernel), stride: (stride, stride),
                     padding: (padding, padding))
    }

    public func outputShape(for input: [Int]) -> [Int] {
        let g = geometry(input)
        return [input[0], g.outH, g.outW]
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4, "AvgPool2d expects [N, C, H, W], got \(x.shape)")
        let g = geometry(Array(x.shape.dropFirst()))
        y.ensure(shape: [x.shape[0], g.channels, g.outH, g.outW])
        PoolingKernels.avgForward(y: y.data, x: x.data, batch: x.shape[0], geometry: g)
        geometry = g
        inputShape = x.shape
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let g = geometry else { preconditionFailure("AvgPool2d.backward without a forward") }
        dx.ensure(shape: inputShape)
        PoolingKernels.avgBackward(dx: dx.data, dy: dy.data, batch: inputShape[0], geometry: g)
        return dx
    }
}

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

/// [N, C, H, W] → [N, C·H·W]. Copies (layers own their outputs), so the input's buffer is never re-labelled.
public final class Flatten: Layer {
    let y = Tensor(shape: [0]), dx = Tensor(shape: [0])
    var inputShape: [Int] = []

    public init() {}

    public func outputShape(for input: [Int]) -> [Int] { [input.reduce(1, *)] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = x.shape[0]
        y.ensure(shape: [n, x.count / Swift.max(n, 1)])
        y.data.update(from: x.data, count: x.count)
        inputShape = x.shape
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        dx.ensure(shape: inputShape)
        dx.data.update(from: dy.data, count: dy.count)
        return dx
    }
}
