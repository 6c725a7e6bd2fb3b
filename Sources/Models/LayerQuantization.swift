import Quantization
import TensorEngine

/// A layer whose operands may be quantized (`Conv2d`, `Linear`).
public protocol QuantizableLayer: Layer {
    var quantization: LayerQuantization? { get }
    /// Replaces the kernel's matrix product in forward when set (a hardware model; see `LayerDatapath`).
    var datapath: LayerDatapath? { get set }
    /// The layer's name (its weight parameter's name without `.weight`).
    var name: String { get }
}

/// The quantized operands of one convolution or fully connected layer: its binarized weights (recomputed from the
/// FP32 latent weights every forward) and its k-bit input. The layer runs its ordinary kernels on these operands;
/// this type adds the quantizers' forward and their gradient rules around them.
public final class LayerQuantization {
    public let binarizer: WeightBinarizer?
    public let inputQuantizer: ActivationQuantizer?
    /// [weight count] gradient w.r.t. the binarized weights, before the straight-through rule: live during this
    /// layer's backward only, so it is the engine's shared scratch (`Workspace.Slot.quantizedWeightGradient`), as
    /// is the closed forms' selection / sort buffer — not a buffer per layer (≈ −50 MB of peak RSS, ResNet-18).
    private var dWq: UnsafeMutablePointer<Float>?
    /// (α, β, threshold) per group of the last forward (hardware reports read these).
    public private(set) var groups: [WeightBinarizer.Group] = []
    /// [N, ...] the quantized input of the last forward.
    let xq = Tensor(shape: [0])
    /// [weight count] B ∈ {−1, +1} of the last forward (binarized layers).
    let signs: IntegerBuffer<Int8>
    /// [N, H, W, C] the input codes of the last integer view, the shape of its input ([N, C, H, W]) and Δ.
    let codes = IntegerBuffer<UInt8>()
    private var codeShape: [Int] = [], codeStep: Float = 0

    public init?(_ spec: QuantPolicy.LayerSpec, weightCount: Int, store: ParameterStore, name: String) {
        guard spec.isQuantized else { return nil }
        binarizer = spec.weights
        inputQuantizer = spec.activationBits.flatMap {
            spec.activationKind.make(bits: $0, store: store, name: name, bwmaAmplitude: spec.bwmaAmplitude,
                                     bwmaLearnedClip: spec.bwmaLearnedClip)
        }
        let n = spec.weights == nil ? 0 : weightCount
        signs = IntegerBuffer(count: n)
    }

    func initialize() { inputQuantizer?.initialize() }

    /// Learnable quantizer parameters (PACT's clip, LSQ's step).
    var parameters: [Parameter] { inputQuantizer?.parameters ?? [] }

    /// The weights the kernel should use: for a binarized layer α·B + β, written into the engine's shared scratch
    /// (valid until the next layer's forward; the layer keeps B and the groups, and backward rebuilds the values
    /// with `rebuiltWeights` — a Float copy per layer cost 45 MB on ResNet-18).
    func weights(_ latent: Parameter, outChannels: Int) -> UnsafePointer<Float> {
        guard let b = binarizer else { return UnsafePointer(latent.value) }
        let scratch = EngineContext.workspace.buffer(.binarizerScratch, worker: 0, count: latent.count)
        let wq = EngineContext.workspace.buffer(.binarizedWeights, worker: 0, count: latent.count)
        b.binarize(latent: latent.value, count: latent.count, outChannels: outChannels, into: wq,
                   signs: signs.data, groups: &groups, scratch: scratch)
        return UnsafePointer(wq)
    }

    /// α·B + β of the last forward, rebuilt from B and the groups into the shared scratch (bit for bit what
    /// `weights` returned); valid until the next layer's `weights` or `rebuiltWeights`.
    func rebuiltWeights() -> UnsafePointer<Float> {
        let wq = EngineContext.workspace.buffer(.binarizedWeights, worker: 0, count: signs.count)
        WeightBinarizer.values(signs: signs.data, count: signs.count, groups: groups, into: wq)
        return UnsafePointer(wq)
    }

    /// The input the kernel should use.
    func input(_ x: Tensor, training: Bool) -> Tensor {
        guard let q = inputQuantizer else { return x }
        xq.ensure(shape: x.shape)
        xq.layout = x.layout
        q.forward(y: xq.data, x: x.data, count: x.count, perSample: x.count / Swift.max(x.shape[0], 1),
                  training: training)
        return xq
    }

    /// B ∈ {−1, +1} of the last forward ([Cout, K], the weight order), as the binarizer decided it; nil for layers
    /// without binary weights. Valid until the next forward.
    public var binaryWeights: UnsafePointer<Int8>? { binarizer == nil ? nil : UnsafePointer(signs.data) }

    /// The integer view of this forward (binary weights and k-bit input codes) for layers with both a binarizer
    /// and an input quantizer, nil for other layers; call after `weights`. The input quantizer's forward on the
    /// layer's input x writes channels-last codes directly (`ActivationQuantizer.codes`) — no Float copy of the
    /// quantized input is made or kept: backward rebuilds it from the codes (`rebuiltInput`).
    public func integerView(input x: Tensor, outChannels: Int, training: Bool) -> IntegerView? {
        guard binarizer != nil, let q = inputQuantizer, !groups.isEmpty, x.shape.count == 4 else { return nil }
        codes.ensure(count: x.count)
        let n = x.shape[0], c = x.shape[1], p = x.count / Swift.max(n * c, 1)
        q.codes(x: x.data, batch: n, channels: c, positions: p, channelsLast: x.layout == .nhwc, training: training,
                into: codes.data)
        codeShape = x.shape
        codeStep = q.quantizationStep
        let perChannel = groups.count == outChannels
        let alpha = (0..<outChannels).map { groups[perChannel ? $0 : 0].alpha }
        let beta = (0..<outChannels).map { groups[perChannel ? $0 : 0].beta }
        return IntegerView(signs: signs.data, codes: codes.data, bits: q.bits, step: codeStep, alpha: alpha,
                           beta: beta)
    }

    /// The codes of the last `integerView` ([N, H, W, C]) and Δ.
    var lastCodes: (codes: UnsafePointer<UInt8>, step: Float) { (UnsafePointer(codes.data), codeStep) }

    /// The quantized input of the last `integerView`, j·Δ — the quantizer's forward output bit for bit —, rebuilt
    /// from the codes into the engine's shared scratch (channels-last). Valid until the next call on any layer:
    /// layers run their backwards one after another, so one buffer serves them all.
    func rebuiltInput() -> Tensor {
        let t = EngineContext.workspace.tensor(.kernelInput, shape: codeShape)
        t.layout = .nhwc
        IntegerConvKernels.values(ofCodes: codes.data, count: t.count, step: codeStep, into: t.data)
        return t
    }

    /// Where the kernel should accumulate the weight gradient (zeroed scratch when binarized).
    func weightGradientTarget(_ latent: Parameter) -> UnsafeMutablePointer<Float> {
        guard binarizer != nil else { return latent.grad }
        let target = EngineContext.workspace.buffer(.quantizedWeightGradient, worker: 0, count: latent.count)
        target.update(repeating: 0, count: latent.count)
        dWq = target
        return target
    }

    /// Applies the straight-through rule from dWq into the latent weights' gradient.
    func finishWeightGradient(_ latent: Parameter) {
        guard let b = binarizer else { return }
        guard let dWq else { preconditionFailure("finishWeightGradient without weightGradientTarget") }
        b.backward(latent: latent.value, count: latent.count, dWq: dWq, groups: groups, grad: latent.grad)
        self.dWq = nil
    }

    /// Turns dL/d(quantized input) into dL/d(input), in place.
    func inputGradient(_ dxq: Tensor, input x: Tensor) {
        guard let q = inputQuantizer else { return }
        q.backward(dx: dxq.data, dy: dxq.data, x: x.data, count: x.count,
                   perSample: x.count / Swift.max(x.shape[0], 1))
    }
}
