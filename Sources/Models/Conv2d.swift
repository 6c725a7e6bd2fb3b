import TensorEngine

/// 2-D convolution, weight [Cout, Cin, kh, kw], optional bias [Cout]; PyTorch's default initialisation.
public final class Conv2d: Layer, InputGradientOptional {
    public let weight: Parameter
    public let bias: Parameter?
    public let inChannels: Int, outChannels: Int
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    public var needsInputGradient = true

    /// [N, Cout, outH, outW]
    let y = Tensor(shape: [0])
    /// [N, Cin, H, W]
    /// Replaceable by an owner that shares gradient buffers between layers (see `BlockGradientBuffers`).
    var dx = Tensor(shape: [0])
    /// The forward input, kept for backward.
    var input: Tensor?
    var geometry: ConvGeometry?

    public init(_ store: ParameterStore, _ name: String, inChannels: Int, outChannels: Int, kernel: Int,
                stride: Int = 1, padding: Int = 0, bias: Bool = false) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = (kernel, kernel); self.stride = (stride, stride); self.padding = (padding, padding)
        let fanIn = inChannels * kernel * kernel
        weight = store.parameter("\(name).weight", shape: [outChannels, inChannels, kernel, kernel], fanIn: fanIn)
        self.bias = bias ? store.parameter("\(name).bias", shape: [outChannels], fanIn: fanIn) : nil
    }

    func geometry(for s: [Int]) -> ConvGeometry {
        precondition(s.count == 3 && s[0] == inChannels, "Conv2d expects [\(inChannels), H, W], got \(s)")
        return ConvGeometry(channels: s[0], height: s[1], width: s[2], kernel: kernel, stride: stride, padding: padding)
    }

    /// The geometry for this input, recomputed only when the per-sample shape changes.
    func currentGeometry(_ x: Tensor) -> ConvGeometry {
        if let g = geometry, x.shape.count == 4, g.channels == x.shape[1], g.height == x.shape[2], g.width == x.shape[3] {
            return g
        }
        precondition(x.shape.count == 4, "Conv2d expects an [N, C, H, W] input, got \(x.shape)")
        let g = geometry(for: Array(x.shape.dropFirst()))
        geometry = g
        return g
    }

    public func outputShape(for input: [Int]) -> [Int] {
        let g = geometry(for: input)
        return [outChannels, g.outH, g.outW]
    }

    public func initialize(rng: inout RNG) {
        Initializers.kaimingUniformDefault(weight, rng: &rng)
        if let bias { Initializers.biasDefault(bias, fanIn: weight.fanIn, rng: &rng) }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = x.shape[0]
        let geo = currentGeometry(x)
        y.ensure(shape: [n, outChannels, geo.outH, geo.outW])
        Conv2dKernel.forward(y: y.data, x: x.data, weight: weight.value, bias: bias?.value, batch: n,
                             outChannels: outChannels, geometry: geo)
        input = training ? x : nil
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input, let geo = geometry else { preconditionFailure("Conv2d.backward without a training forward") }
        let n = x.shape[0]
        if needsInputGradient { dx.ensure(shape: x.shape) }
        Conv2dKernel.backward(dx: needsInputGradient ? dx.data : nil, dWeight: weight.grad, dBias: bias?.grad,
                              dy: dy.data, x: x.data, weight: weight.value, batch: n, outChannels: outChannels,
                              geometry: geo)
        return dx
    }
}
