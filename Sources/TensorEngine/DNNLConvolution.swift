import CDNNL

/// oneDNN convolution primitives for one layer shape (batch, geometry, output channels), precision and input layout,
/// created once and reused every step. At the layer boundary the input (and its gradient) is fp32 in the caller's
/// layout (NCHW, or channels-last from a previous oneDNN layer) and the output (and its gradient) fp32 channels-last
/// — or, in bf16 with `bf16Output`, the output bf16 channels-last (as autocast stores convolution outputs), and with
/// `bf16Input` the input bf16 channels-last (a batch norm that wrote it so: read in place, no conversion).
///
/// Activations go to oneDNN in channels-last layout (its brgconv kernels; bf16 brgconv ran 1.5–2x faster than the
/// blocked `any` choice here) — but to fp32 Winograd in its blocked layout, converted at the boundary
/// (`Algorithm`) —, weights in whatever layout the primitive picks. In bf16 the convolution reads bf16
/// operands and writes fp32 (output and input gradient), accumulating in fp32; the weight gradient is fp32 and is
/// added into the caller's gradient, as the reference kernels do. The backward primitives are created on the first
/// backward, so evaluation-only layers never build them.
public final class DNNLConvolution {
    public let batch: Int, outChannels: Int, geometry: ConvGeometry, precision: Precision, hasBias: Bool
    /// Whether a bf16 output was asked for (`init`), and whether the forward writes one (asked for, and supported).
    public let bf16Output: Bool, writesBF16: Bool
    /// The layout of the input and of its gradient at the boundary.
    public let inputLayout: Tensor.Layout
    /// Whether the input at the boundary is bf16 (its gradient is still fp32).
    public let bf16Input: Bool
    let engine: DNNL
    let forwardPrimitive: DNNLPrimitive
    /// Direct, or Winograd (`Algorithm.winogradApplies`); backward uses the same.
    let algorithm: Algorithm
    /// The engine's setting when this was built (a layer rebuilds its kernels when it changes).
    public let convAlgorithm = EngineContext.convAlgorithm
    let x: DNNLOperand, w: DNNLOperand, y: DNNLOperand, b: DNNLOperand?
    /// The engine's own bf16 3 × 3 kernel where the shape is one it takes (`BF16Conv3x3`); nil: oneDNN's forward.
    let ownForward: BF16Conv3x3?
    private var backwardPass: Backward?
    /// The codes `prepareBackward(codes:weight:)` left for the next backward's own weight-gradient kernel.
    private var pendingCodes: UnsafePointer<UInt8>?

    /// nil where oneDNN has no implementation for this shape and precision. `bf16Output`: in bf16, write the
    /// output in bf16 where oneDNN can (`writesBF16` says whether it does). `bf16Input`: the input is bf16
    /// channels-last, which only a bf16 convolution takes (nil otherwise: the caller widens it).
    public init?(batch: Int, outChannels: Int, geometry g: ConvGeometry, bias: Bool, precision: Precision,
                 inputLayout: Tensor.Layout = .nchw, bf16Output: Bool = false, bf16Input: Bool = false) {
        guard let engine = DNNL.shared, !bf16Input || (precision == .bf16 && inputLayout == .nhwc) else { return nil }
        self.engine = engine
        self.batch = batch; self.outChannels = outChannels; geometry = g; self.precision = precision; hasBias = bias
        self.inputLayout = inputLayout
        self.bf16Input = bf16Input
        let inputTag = inputLayout == .nhwc ? dnnl_nhwc : dnnl_nchw
        let shapes = DNNLConvolution.shapes(batch, outChannels, g)
        let dt = precision == .bf16 ? dnnl_bf16 : dnnl_f32
        var created: DNNLPrimitive?, createdType = dnnl_f32, createdAlgorithm = Algorithm.direct
        // fp32 output first unless a bf16 one is asked for (bf16 convolutions may write fp32: no rounding).
        let outTypes = precision == .bf16 && bf16Output ? [dnnl_bf16, dnnl_f32] : [dnnl_f32, dt]
        let algorithms: [Algorithm] = Algorithm.winogradApplies(precision, outChannels, g) ? [.winograd, .direct]
                                                                                           : [.direct]
        for algorithm in algorithms where created == nil {
            for outType in outTypes where created == nil {
                var src = DNNLDesc(shapes.src, dt, algorithm.activationTag)
                var wei = DNNLDesc(shapes.weights, dt, dnnl_format_tag_any)
                var dst = DNNLDesc(shapes.dst, outType, algorithm.activationTag)
                var bia = DNNLDesc([outChannels], dnnl_f32, dnnl_a)
                var cd = dnnl_convolution_desc_t()
                let status = withUnsafePointer(to: &bia.md) { bp in
                    dnnl_convolution_forward_desc_init(
                        &cd, dnnl_forward_training, algorithm.kind, &src.md, &wei.md, bias ? bp : nil,
                        &dst.md, shapes.strides, shapes.padding, shapes.padding)
                }
                guard status == dnnl_success else { continue }
                created = withUnsafePointer(to: &cd) { DNNLPrimitive(UnsafeRawPointer($0), engine: engine) }
                createdType = outType
                createdAlgorithm = algorithm
            }
        }
        let userOutputType = createdType == dnnl_bf16 && bf16Output ? dnnl_bf16 : dnnl_f32
        guard let fwd = created,
              let x = DNNLOperand(user: DNNLDesc(shapes.src, bf16Input ? dnnl_bf16 : dnnl_f32, inputTag),
                                  wanted: fwd.desc(dnnl_query_src_md), isOutput: false, engine: engine),
              let w = DNNLOperand(user: DNNLDesc(shapes.weights, dnnl_f32, dnnl_oihw),
                                  wanted: fwd.desc(dnnl_query_weights_md), isOutput: false, engine: engine),
              let y = DNNLOperand(user: DNNLDesc(shapes.dst, userOutputType, dnnl_nhwc),
                                  wanted: fwd.desc(dnnl_query_dst_md), isOutput: true, scratch: .convertedOutput,
                                  engine: engine)
        else { return nil }
        let b = bias ? DNNLOperand(user: DNNLDesc([outChannels], dnnl_f32, dnnl_a),
                                   wanted: fwd.desc(dnnl_query_weights_md, index: 1), isOutput: false, engine: engine) : nil
        if bias && b == nil { return nil }
        forwardPrimitive = fwd
        algorithm = createdAlgorithm
        self.bf16Output = bf16Output
        writesBF16 = userOutputType == dnnl_bf16
        self.x = x; self.w = w; self.y = y; self.b = b
        // Not where oneDNN has AMX (or is capped below AVX512-BF16): there its kernels are the faster.
        ownForward = precision == .bf16 && !bias && BF16Conv3x3.enabled
            && fwd.implementation.hasSuffix("avx512_core_bf16") && x.desc == DNNLDesc(shapes.src, dnnl_bf16, dnnl_nhwc)
            ? BF16Conv3x3(batch: batch, outChannels: outChannels, geometry: g) : nil
    }

    static func shapes(_ n: Int, _ cout: Int, _ g: ConvGeometry)
        -> (src: [Int], weights: [Int], dst: [Int], strides: [dnnl_dim_t], padding: [dnnl_dim_t]) {
        ([n, g.channels, g.height, g.width], [cout, g.channels, g.kernelH, g.kernelW], [n, cout, g.outH, g.outW],
         [dnnl_dim_t(g.strideH), dnnl_dim_t(g.strideW)], [dnnl_dim_t(g.padH), dnnl_dim_t(g.padW)])
    }

    /// The implementations oneDNN picked (forward, and backward data/weights once built), e.g.
    /// `brgconv:avx512_core_bf16`; `bwma_bf16:avx512_core_bf16` for the engine's own weight gradient.
    public var implementations: [String] {
        [ownForward == nil ? forwardPrimitive.implementation : BF16Conv3x3.implementation]
            + (backwardPass.map { [$0.dataImplementation, $0.weightsImplementation] } ?? [])
    }

    /// y = W ⋆ x (+ bias): x [N, Cin, H, W] in `inputLayout`, weight [Cout, Cin, kh, kw], y [N, Cout, outH, outW]
    /// channels-last, all fp32 but x in bf16 where `bf16Input` and y in bf16 where `writesBF16`.
    public func forward(y out: UnsafeMutableRawPointer, x input: UnsafeRawPointer,
                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?) {
        x.load(input, engine: engine)
        w.load(weight, engine: engine)  // also what backward reads
        if let ownForward {
            ownForward.forward(y: out, x: x.pointer.assumingMemoryBound(to: UInt16.self), weight: weight,
                               bf16Output: writesBF16)
            return
        }
        y.bind(out)
        var args = [arg(DNNL_ARG_SRC, x.handle), arg(DNNL_ARG_WEIGHTS, w.handle), arg(DNNL_ARG_DST, y.handle)]
        if let b, let bias {
            b.load(bias, engine: engine)
            args.append(arg(DNNL_ARG_BIAS, b.handle))
        }
        engine.execute(forwardPrimitive.primitive, args)
        y.store(engine: engine)
    }

    /// Converts the forward operands without running the forward (the layer's forward ran on another kernel, e.g.
    /// the exact integer one): `backward`, called next, then has what it needs. The converted input and weights
    /// live in the workspace until then, not in buffers of this layer's.
    public func prepareBackward(x input: UnsafePointer<Float>, weight: UnsafePointer<Float>) {
        precondition(!bf16Input, "prepareBackward: a Float input for a bf16-input convolution")
        pendingCodes = nil
        x.load(input, engine: engine, transient: .preparedInput)
        w.load(weight, engine: engine, transient: .preparedWeights)
    }

    /// As `prepareBackward(x:weight:)` for an input given as k-bit codes j of x = j·Δ (channels-last): where the
    /// backward reads the input as bf16 in that plain layout it reads the codes themselves — integers, exact in
    /// bf16, where j·Δ would be rounded to 8 significant bits — written straight into its buffer (no fp32 copy, no
    /// reorder), or, where the engine's own weight-gradient kernel runs, read by it from the codes' bytes (kept,
    /// not copied: they must stay as they are until `backward`). `backward` then takes no input pointer and
    /// accumulates the weight gradient of the codes, Σ j·dy: the caller multiplies it by Δ. False, with nothing
    /// done, elsewhere: the caller rebuilds the fp32 input and calls `prepareBackward(x:weight:)`.
    public func prepareBackward(codes: UnsafePointer<UInt8>, weight: UnsafePointer<Float>) -> Bool {
        let s = DNNLConvolution.shapes(batch, outChannels, geometry)
        guard precision == .bf16, inputLayout == .nhwc, x.inner != nil, supportsBackward,
              let bw = backwardPass, bw.xForWeights == nil, x.desc == DNNLDesc(s.src, dnnl_bf16, dnnl_nhwc)
        else { return false }
        if bw.ownWeights != nil {
            pendingCodes = codes  // the engine's own kernel reads them as they are
        } else {
            let values = x.bindTransient(.preparedInput).bindMemory(to: UInt16.self, capacity: s.src.reduce(1, *))
            IntegerConvKernels.bf16Values(ofCodes: codes, count: s.src.reduce(1, *), step: 1, into: values)
        }
        w.load(weight, engine: engine, transient: .preparedWeights)
        return true
    }

    /// Whether oneDNN has backward kernels for this shape and precision (built on first use).
    public var supportsBackward: Bool {
        if backwardPass == nil { backwardPass = Backward(self) }
        return backwardPass != nil
    }

    /// Backward after `forward` on the same input and weights: accumulates dWeight (and dBias) and writes dx (nil:
    /// skipped, as for a network's first layer). Requires `supportsBackward`. `input` (fp32, or bf16 where
    /// `bf16Input`) nil: prepared from codes.
    public func backward(dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
                         dBias: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, x input: UnsafeRawPointer?,
                         weight: UnsafePointer<Float>) {
        backward(dx: dx, dWeight: dWeight, dBias: dBias, dy: UnsafeRawPointer(dy), bf16Gradient: false, x: input,
                 weight: weight)
    }

    /// As above for an output gradient dy in bf16 (`bf16Gradient`; channels-last), as a batch norm after a bf16
    /// convolution writes it: the bf16 kernels read it as it is, where a Float dy would first be rounded to bf16 —
    /// the same bits. Requires `precision == .bf16`.
    public func backward(dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
                         dBias: UnsafeMutablePointer<Float>?, dy: UnsafeRawPointer, bf16Gradient: Bool,
                         x input: UnsafeRawPointer?, weight: UnsafePointer<Float>) {
        guard supportsBackward, let bw = backwardPass else { fatalError("DNNLConvolution.backward: no oneDNN backward") }
        precondition(input != nil || (x.inner != nil && bw.xForWeights == nil), "backward: no input")
        guard let gradient = bf16Gradient ? bw.bf16Gradient : bw.floatGradient as Gradient? else {
            fatalError("DNNLConvolution.backward: a bf16 output gradient needs a bf16 convolution")
        }
        let dyOperand = gradient.data, dyForWeights = gradient.weights
        dyOperand.load(dy, engine: engine)
        // Operands used in place (no conversion) point at the caller's current buffers.
        if x.inner == nil, let input { x.load(input, engine: engine) }
        if w.inner == nil { w.load(weight, engine: engine) }
        if let dx {
            let dxOperand = bw.dx, data = bw.data
            dxOperand.bind(dx)
            if let transposed = bw.transposedData {
                transposed.run(dy: dyOperand, dx: dxOperand, weight: weight, engine: engine)
            } else {
                bw.weightsForData?.load(weight, engine: engine)
                engine.execute(data.primitive, [arg(DNNL_ARG_DIFF_DST, dyOperand.handle),
                                                arg(DNNL_ARG_WEIGHTS, bw.weightsForData?.handle ?? w.handle),
                                                arg(DNNL_ARG_DIFF_SRC, dxOperand.handle)])
            }
            dxOperand.store(engine: engine)
        }
        if let own = bw.xForWeights, let input { own.load(input, engine: engine) }
        if let own = dyForWeights { own.load(dy, engine: engine) }
        let codes = input == nil ? pendingCodes : nil
        pendingCodes = nil
        if let kernel = bw.ownWeights {
            let dyBits = (dyForWeights ?? dyOperand).pointer.assumingMemoryBound(to: UInt16.self)
            if let codes {
                kernel.accumulate(dWeight: dWeight, codes: codes, dy: dyBits)
            } else {
                let xBits = (bw.xForWeights ?? x).pointer.assumingMemoryBound(to: UInt16.self)
                kernel.accumulate(dWeight: dWeight, x: xBits, dy: dyBits)
            }
            return
        }
        bw.dW.bind(dWeight)
        var args = [arg(DNNL_ARG_SRC, (bw.xForWeights ?? x).handle),
                    arg(DNNL_ARG_DIFF_DST, (dyForWeights ?? dyOperand).handle),
                    arg(DNNL_ARG_DIFF_WEIGHTS, bw.dW.handle)]
        if let dB = bw.dB, let dBias {
            dB.bind(dBias)
            args.append(arg(DNNL_ARG_DIFF_BIAS, dB.handle))
        }
        engine.execute(bw.weights.primitive, args)
        bw.dW.store(engine: engine)
        bw.dB?.store(engine: engine)
    }
}
