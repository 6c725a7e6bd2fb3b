import TensorEngine

/// A square pooling window: kernel, stride and padding.
public struct PoolWindow: Sendable, Equatable {
    public let kernel: Int, stride: Int, padding: Int

    func geometry(for s: [Int]) -> ConvGeometry {
        precondition(s.count == 3, "pooling expects a per-sample shape [C, H, W], got \(s)")
        return ConvGeometry(channels: s[0], height: s[1], width: s[2], kernel: (kernel, kernel),
                            stride: (stride, stride), padding: (padding, padding))
    }

    func outputShape(for input: [Int]) -> [Int] {
        let g = geometry(for: input)
        return [input[0], g.outH, g.outW]
    }
}

/// Max pooling with a square window (padding counts as −∞).
public final class MaxPool2d: Layer {
    public let window: PoolWindow
    let y = Tensor(shape: [0])
    /// Replaceable by an owner that shares gradient buffers between layers (see `BlockGradientBuffers`).
    var dx = Tensor(shape: [0])
    /// [N, C, outH, outW] (or channels-last) each window's winning tap (`PoolingKernels.Winner`, one byte).
    var argmax: UnsafeMutablePointer<PoolingKernels.Winner>?
    var argmaxCapacity = 0
    var geometry: ConvGeometry?
    var inputShape: [Int] = []
    let adapter = PlanarAdapter()
    /// The last forward's input was channels-last (and so are its output and gradients).
    var channelsLast = false

    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        window = PoolWindow(kernel: kernel, stride: stride ?? kernel, padding: padding)
    }

    deinit { argmax?.deallocate() }

    func geometry(_ s: [Int]) -> ConvGeometry { window.geometry(for: s) }

    public func outputShape(for input: [Int]) -> [Int] { window.outputShape(for: input) }

    /// Channels-last inputs (from oneDNN convolutions) are pooled as they are: the output and both gradients stay
    /// channels-last (no NCHW copies of the input and its gradient — 300 MB on ResNet-18's stem at batch 32).
    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4, "MaxPool2d expects [N, C, H, W], got \(x.shape)")
        channelsLast = x.layout == .nhwc
        let x = channelsLast ? x : adapter.input(x)
        let n = x.shape[0]
        let g = geometry(Array(x.shape.dropFirst()))
        y.ensure(shape: [n, g.channels, g.outH, g.outW])
        y.layout = x.layout
        if argmaxCapacity < y.count {
            argmax?.deallocate()
            argmax = .allocate(capacity: y.count)
            argmaxCapacity = y.count
        }
        if channelsLast {
            PoolingKernels.maxForwardChannelsLast(y: y.data, argmax: argmax!, x: x.data, batch: n, geometry: g)
        } else {
            PoolingKernels.maxForward(y: y.data, argmax: argmax!, x: x.data, batch: n, geometry: g)
        }
        geometry = g
        inputShape = x.shape
        return y
    }

    /// dy is laid out like the output, dx like the input.
    public func backward(_ dy: Tensor) -> Tensor {
        guard let g = geometry else { preconditionFailure("MaxPool2d.backward without a forward") }
        dx.ensure(shape: inputShape)
        if channelsLast {
            PoolingKernels.maxBackwardChannelsLast(dx: dx.data, dy: dy.data, argmax: argmax!, batch: inputShape[0],
                                                   geometry: g)
            dx.layout = .nhwc
            return dx
        }
        PoolingKernels.maxBackward(dx: dx.data, dy: dy.data, argmax: argmax!, batch: inputShape[0], geometry: g)
        return adapter.gradient(dx)
    }
}

/// Average pooling with a square window (divisor kh·kw, PyTorch's default).
public final class AvgPool2d: Layer {
    public let window: PoolWindow
    let y = Tensor(shape: [0]), dx = Tensor(shape: [0])
    var geometry: ConvGeometry?
    var inputShape: [Int] = []
    let adapter = PlanarAdapter()

    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        window = PoolWindow(kernel: kernel, stride: stride ?? kernel, padding: padding)
    }

    func geometry(_ s: [Int]) -> ConvGeometry { window.geometry(for: s) }

    public func outputShape(for input: [Int]) -> [Int] { window.outputShape(for: input) }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4, "AvgPool2d expects [N, C, H, W], got \(x.shape)")
        let x = adapter.input(x)
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
        return adapter.gradient(dx)
    }
}
