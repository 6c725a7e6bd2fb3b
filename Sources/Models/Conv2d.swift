import Quantization
import TensorEngine

/// 2-D convolution, weight [Cout, Cin, kh, kw], optional bias [Cout]; PyTorch's default initialisation. With a
/// `LayerQuantization` it convolves k-bit inputs with binary weights α·B + β derived from its FP32 latent weights.
public final class Conv2d: Layer, InputGradientOptional, QuantizableLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let inChannels: Int, outChannels: Int
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    public var needsInputGradient = true
    /// Set by an owner that applies the input quantizer's backward itself, fused with what it does next
    /// (`BasicBlock`): backward then returns the gradient at the quantized input.
    public var defersInputQuantizerGradient = false
    /// Set by an owner whose batch norm is the only reader of this layer's output: in bf16 mixed precision the
    /// output is then stored in bf16, as autocast stores convolution outputs (half the memory and traffic; the
    /// batch norm widens it exactly). Float otherwise, and on the datapath and reference kernels.
    public var outputFeedsBatchNorm = false

    /// [N, Cout, outH, outW]
    let y = Tensor(shape: [0])
    /// [N, Cin, H, W]
    /// Replaceable by an owner that shares gradient buffers between layers (see `BlockGradientBuffers`).
    var dx = Tensor(shape: [0])
    /// The quantized operands of the last forward (kept for backward) and their gradient rules.
    var operands: QuantizedOperands
    var geometry: ConvGeometry?
    public var quantization: LayerQuantization? { operands.quantization }
    public var datapath: LayerDatapath?
    /// oneDNN primitives for the last batch size and geometry (when the engine uses oneDNN).
    var dnnl: DNNLConvolution?
    /// The exact integer forward of a binarized layer (oneDNN, u8 codes x s8 B → s32), when it applies.
    var integerConv: DNNLIntegerConvolution?
    /// Which kernel the last forward ran on (backward follows it).
    public internal(set) var path = KernelPath.reference
    /// The layout of the last forward's input (the input gradient's layout).
    var inputLayout = Tensor.Layout.nchw
    /// [N, Cin, H, W] a channels-last input converted for the datapath or the reference kernels.
    let planarInput = Tensor(shape: [0])
    /// NCHW scratch for the reference backward of a channels-last neighbourhood: the output gradient, the input
    /// gradient.
    let planarGradient = Tensor(shape: [0]), planarInputGradient = Tensor(shape: [0])
    /// A bf16 input widened for kernels that read Float (see `readsBF16Input`).
    let widenedInput = Tensor(shape: [0])
    public var name: String { String(weight.name.dropLast(".weight".count)) }
    /// The geometry of the last forward's input (nil before the first forward).
    public var lastGeometry: ConvGeometry? { geometry }

    public init(_ store: ParameterStore, _ name: String, inChannels: Int, outChannels: Int, kernel: Int,
                stride: Int = 1, padding: Int = 0, bias: Bool = false, quant: QuantPolicy.LayerSpec? = nil) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = (kernel, kernel); self.stride = (stride, stride); self.padding = (padding, padding)
        let fanIn = inChannels * kernel * kernel
        weight = store.parameter("\(name).weight", shape: [outChannels, inChannels, kernel, kernel], fanIn: fanIn)
        self.bias = bias ? store.parameter("\(name).bias", shape: [outChannels], fanIn: fanIn) : nil
        operands = QuantizedOperands(quant.flatMap {
            LayerQuantization($0, weightCount: outChannels * inChannels * kernel * kernel, store: store, name: name)
        })
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

    public var ownParameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) + (quantization?.parameters ?? []) }

    public func outputShape(for input: [Int]) -> [Int] {
        let g = geometry(for: input)
        return [outChannels, g.outH, g.outW]
    }

    public func initialize(rng: inout RNG) {
        Initializers.kaimingUniformDefault(weight, rng: &rng)
        if let bias { Initializers.biasDefault(bias, fanIn: weight.fanIn, rng: &rng) }
        quantization?.initialize()
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        // A bf16 input (`readsBF16Input`) goes to oneDNN as it is; every other kernel reads it widened.
        if x.elementType == .bfloat16 && !(readsBF16Input && x.layout == .nhwc) {
            return forward(x.widened(using: widenedInput), training: training)
        }
        let n = x.shape[0]
        let geo = currentGeometry(x)
        let shape = [n, outChannels, geo.outH, geo.outW]
        let w = operands.weights(weight, outChannels: outChannels)
        let biasValues = bias.map { UnsafePointer($0.value) }
        inputLayout = x.layout
        func datapathOperands(_ input: Tensor) -> DatapathOperands {
            DatapathOperands(name: name, input: input, weights: w, outChannels: outChannels, rows: geo.columnRows,
                             geometry: geo, bias: biasValues, quantization: quantization)
        }
        // A datapath that computes exactly the integer forward (an ideal chip) lets the integer kernel run it. (The
        // decision reads the shapes and quantizers only: x stands in for the quantized input, not made yet.)
        let integer = datapath.map { $0.reproducesIntegerForward(datapathOperands(x)) } ?? true
        if integer, EngineContext.usesDNNL, let ic = integerConvolution(batch: n, geometry: geo),
           let view = quantization?.integerView(input: x, outChannels: outChannels, training: training) {
            integerForward(ic, view, shape: shape)
            path = .integer
            y.layout = path.outputLayout
            operands.keep(input: x, kernelInput: nil, weights: w, training: training)
            return y
        }
        // A datapath that reads codes gets the integer view's (no Float copy of the quantized input), and backward
        // the same codes as after the integer kernel.
        if let datapath, datapath.readsCodes,
           let view = quantization?.integerView(input: x, outChannels: outChannels, training: training) {
            var op = datapathOperands(x)
            op.codes = view.codes
            run(datapath, op, shape: shape)
            y.layout = path.outputLayout
            operands.keep(input: x, kernelInput: nil, weights: w, training: training)
            return y
        }
        var xin = operands.input(x, training: training)
        if datapath == nil, let c = dnnlConvolution(batch: n, geometry: geo, inputLayout: xin.layout,
                                                    bf16Input: xin.elementType == .bfloat16) {
            y.ensure(shape: shape, elementType: c.writesBF16 ? .bfloat16 : .float32)
            c.forward(y: y.rawData, x: xin.rawData, weight: w, bias: biasValues)
            path = .dnnl
        } else {
            xin = xin.widened(using: widenedInput)  // (no oneDNN kernel for a bf16 input of this shape)
            // The reference kernels read NCHW, and so do datapaths that do not take channels-last.
            if datapath?.readsChannelsLast != true { xin = xin.converted(to: .nchw, using: planarInput) }
            if let datapath {
                run(datapath, datapathOperands(xin), shape: shape)
            } else {
                y.ensure(shape: shape)
                Conv2dKernel.forward(y: y.data, x: xin.data, weight: w, bias: bias?.value, batch: n,
                                     outChannels: outChannels, geometry: geo)
                path = .reference
            }
        }
        y.layout = path.outputLayout
        operands.keep(input: x, kernelInput: xin, weights: w, training: training)
        return y
    }

    /// The datapath's forward into y, in bf16 where the layer stores its output so (`storesBF16Output`).
    private func run(_ datapath: LayerDatapath, _ operands: DatapathOperands, shape: [Int]) {
        var op = operands
        op.bf16Output = storesBF16Output
        y.ensure(shape: shape, elementType: op.bf16Output ? .bfloat16 : .float32)
        datapath.forward(op, y: y.rawData)
        path = .datapath(channelsLast: datapath.writesChannelsLast)
    }

    /// dy is laid out like the forward's output, dx like its input.
    public func backward(_ dy: Tensor) -> Tensor {
        let (x, xin, w) = operands.saved("Conv2d")
        guard let geo = geometry else { preconditionFailure("Conv2d.backward without a forward") }
        let n = x.shape[0]
        if needsInputGradient { dx.ensure(shape: x.shape) }
        dx.layout = inputLayout
        let dW = operands.weightGradientTarget(weight)
        if path != .reference, let c = dnnlConvolution(batch: n, geometry: geo, inputLayout: xin.layout,
                                                       bf16Input: xin.elementType == .bfloat16),
           c.supportsBackward {
            let input = backwardInput(c, xin, weight: w)
            let dyc = path.outputLayout == .nchw ? dy.converted(to: .nhwc, using: planarGradient) : dy
            let dxc = xin.layout == inputLayout ? dx : planarInputGradient
            if needsInputGradient { dxc.ensure(shape: x.shape) }
            // A bf16 dy (a batch norm's gradient after this layer's bf16 output) goes to oneDNN as it is.
            c.backward(dx: needsInputGradient ? dxc.data : nil, dWeight: dW, dBias: bias?.grad,
                       dy: UnsafeRawPointer(dyc.rawData), bf16Gradient: dyc.elementType == .bfloat16,
                       x: input.map { UnsafeRawPointer($0.rawData) }, weight: w)
            if input == nil { scaleCodeGradient(dW, xin) }
            if needsInputGradient && dxc !== dx {
                dxc.layout = xin.layout
                _ = dxc.converted(to: inputLayout, using: dx)
            }
        } else {
            // Reference kernels: NCHW operands (xin is NCHW here: the forward converted it unless it ran on
            // oneDNN, whose outputs and gradients are channels-last).
            let xp = xin.tensor().widened(using: widenedInput).converted(to: .nchw, using: planarInput)
            // (A bf16 dy here only where oneDNN had no backward for a shape it ran forward: rare.)
            let dyf = dy.elementType == .bfloat16 ? dy.widened(using: Tensor(shape: [0])) : dy
            let dyp = path.outputLayout == .nhwc ? dyf.converted(to: .nchw, using: planarGradient) : dyf
            let dxp = inputLayout == .nhwc ? planarInputGradient : dx
            if needsInputGradient { dxp.ensure(shape: x.shape) }
            Conv2dKernel.backward(dx: needsInputGradient ? dxp.data : nil, dWeight: dW, dBias: bias?.grad,
                                  dy: dyp.data, x: xp.data, weight: w, batch: n, outChannels: outChannels,
                                  geometry: geo)
            if needsInputGradient && inputLayout == .nhwc {
                dxp.layout = .nchw
                LayoutKernels.toChannelsLast(dx.data, dxp.data, batch: n, channels: inChannels,
                                             positions: geo.height * geo.width)
            }
        }
        operands.finish(weight: weight, dx: needsInputGradient ? dx : nil, input: x,
                        inputGradient: !defersInputQuantizerGradient)
        return dx
    }
}
