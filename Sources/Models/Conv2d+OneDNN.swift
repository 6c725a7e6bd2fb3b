import Quantization
import TensorEngine

/// Which kernel ran a layer's last forward.
public enum KernelPath: Sendable, Equatable {
    /// A hardware model (`LayerDatapath`), writing NCHW or (`LayerDatapath.writesChannelsLast`) channels-last.
    case datapath(channelsLast: Bool)
    /// The exact integer forward of a binarized layer on oneDNN (backward on oneDNN in the run's precision).
    case integer
    /// oneDNN in the run's precision.
    case dnnl
    /// The engine's own kernels over OpenBLAS.
    case reference

    /// The layout of the output (and so of the output gradient): oneDNN and channels-last datapaths write
    /// channels-last, the others NCHW.
    var outputLayout: Tensor.Layout {
        switch self {
        case .integer, .dnnl, .datapath(channelsLast: true): return .nhwc
        case .reference, .datapath(channelsLast: false): return .nchw
        }
    }
}

extension Conv2d {
    /// oneDNN's kernels for this layer's last forward (and backward data and weights, once run), e.g.
    /// `jit_wino_4x3:avx512_core`; empty where it ran on other kernels only.
    public var dnnlKernels: [String] { dnnl?.implementations ?? [] }

    /// The oneDNN convolution for this batch, geometry and input (layout, element type), built when any changes;
    /// nil on the reference backend or where oneDNN has no kernel for the shape (or takes no bf16 input).
    func dnnlConvolution(batch n: Int, geometry geo: ConvGeometry, inputLayout: Tensor.Layout,
                         bf16Input: Bool = false) -> DNNLConvolution? {
        guard EngineContext.usesDNNL else { return nil }
        let precision = EngineContext.precision
        if let c = dnnl, c.batch == n, c.geometry == geo, c.precision == precision, c.inputLayout == inputLayout,
           c.bf16Output == outputFeedsBatchNorm, c.bf16Input == bf16Input,
           c.convAlgorithm == EngineContext.convAlgorithm {
            return c
        }
        dnnl = nil  // release the old primitives' buffers first
        dnnl = DNNLConvolution(batch: n, outChannels: outChannels, geometry: geo, bias: bias != nil,
                               precision: precision, inputLayout: inputLayout, bf16Output: outputFeedsBatchNorm,
                               bf16Input: bf16Input)
        return dnnl
    }

    /// Whether this layer's forward takes a bf16 input as it is (a batch norm before it may write one:
    /// `BatchNorm2d.writesBF16Output`): an unquantized layer on oneDNN in bf16, which would round a Float input to
    /// bf16 itself — the same bits, without the Float pass and the conversion. Other layers widen a bf16 input.
    public var readsBF16Input: Bool {
        quantization == nil && datapath == nil && EngineContext.usesDNNL && EngineContext.precision == .bf16
    }

    /// The oneDNN integer convolution for this batch and geometry (binarized layers with a k-bit input), built when
    /// either changes; nil where it does not apply.
    func integerConvolution(batch n: Int, geometry geo: ConvGeometry) -> DNNLIntegerConvolution? {
        guard let q = quantization, q.binarizer != nil, q.inputQuantizer != nil else { return nil }
        if let c = integerConv, c.batch == n, c.geometry == geo { return c }
        integerConv = nil
        integerConv = DNNLIntegerConvolution(batch: n, outChannels: outChannels, geometry: geo)
        return integerConv
    }

    /// Whether this forward stores its output in bf16: mixed precision's storage of a convolution output that feeds
    /// a batch norm (`outputFeedsBatchNorm`), on the integer kernel and on a datapath that writes bf16.
    var storesBF16Output: Bool {
        outputFeedsBatchNorm && EngineContext.precision == .bf16 && (datapath?.writesBF16 ?? true)
    }

    /// y = Δα_c·(B ⊛ j) + Δβ_c·(1 ⊛ j) (+ bias) from the layer's integer view, channels-last: in Float, or
    /// rounded to bf16 where mixed precision stores this layer's output so (`storesBF16Output`) — where it stands
    /// in for a hardware datapath (an ideal chip), as that datapath would store it.
    func integerForward(_ conv: DNNLIntegerConvolution, _ view: IntegerView, shape: [Int]) {
        let bf16 = storesBF16Output
        y.ensure(shape: shape, elementType: bf16 ? .bfloat16 : .float32)
        conv.forward(codes: view.codes, signs: view.signs, scale: view.alpha.map { $0 * view.step },
                     offset: view.beta.map { $0 * view.step }, bias: bias.map { UnsafePointer($0.value) },
                     y: y.rawData, bf16: bf16, levels: (1 << view.bits) - 1)
    }

    /// The forward input for oneDNN's backward. The integer kernel and a datapath (straight-through) did not run
    /// oneDNN's forward, so its operands are converted first (`prepareBackward`) — for the integer kernel, the codes
    /// j themselves in bf16 where the backward reads that (nil returned: no Float input was needed, and the weight
    /// gradient comes out as that of the codes, to be scaled by Δ: `scaleCodeGradient`).
    func backwardInput(_ c: DNNLConvolution, _ xin: QuantizedOperands.KernelInput, weight w: UnsafePointer<Float>)
        -> Tensor? {
        if path == .dnnl { return xin.tensor() }
        if case .codes(let q) = xin, c.prepareBackward(codes: q.lastCodes.codes, weight: w) { return nil }
        let t = xin.tensor()
        c.prepareBackward(x: t.data, weight: w)
        return t
    }

    /// After a backward on the codes j (`backwardInput` returned nil): dL/dWq = Δ·Σ j·dy — one rounding of the fp32
    /// sum instead of one per input value. dW is the binarized layer's own zeroed target (`weightGradientTarget`).
    func scaleCodeGradient(_ dW: UnsafeMutablePointer<Float>, _ xin: QuantizedOperands.KernelInput) {
        guard case .codes(let q) = xin else { preconditionFailure("scaleCodeGradient without codes") }
        ElementwiseKernels.scale(dW, count: weight.count, by: q.lastCodes.step)
    }
}
