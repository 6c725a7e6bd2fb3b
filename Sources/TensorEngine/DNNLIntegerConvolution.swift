import CDNNL

/// The integer part of a binarized convolution's forward on oneDNN: S = B ⊛ j with u8 input codes, s8 weights
/// B ∈ {−1, +1} and s32 accumulation (AVX512-VNNI `vpdpbusd`, AMX tiles, or AVX2/AVX-512 `vpmaddubsw` — no saturation
/// here: a pair of ±1·j products is at most 2·255 in magnitude). Integer arithmetic, so the sums equal the reference's
/// bit for bit on every ISA. Codes in and sums out are channels-last, the layout the kernels use: no reorder.
public final class DNNLIntegerConvolution {
    public let batch: Int, outChannels: Int, geometry: ConvGeometry
    let engine: DNNL
    let primitive: DNNLPrimitive
    let codes: DNNLOperand, signs: DNNLOperand, sums: DNNLOperand

    /// nil where oneDNN has no int8 kernel for the shape.
    public init?(batch: Int, outChannels: Int, geometry g: ConvGeometry) {
        guard let engine = DNNL.shared else { return nil }
        self.engine = engine
        self.batch = batch; self.outChannels = outChannels; geometry = g
        let s = DNNLConvolution.shapes(batch, outChannels, g)
        var src = DNNLDesc(s.src, dnnl_u8, dnnl_nhwc), wei = DNNLDesc(s.weights, dnnl_s8, dnnl_format_tag_any)
        var dst = DNNLDesc(s.dst, dnnl_s32, dnnl_nhwc)
        var cd = dnnl_convolution_desc_t()
        guard dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &src.md,
                                                 &wei.md, nil, &dst.md, s.strides, s.padding, s.padding)
                == dnnl_success,
              let p = withUnsafePointer(to: &cd, { DNNLPrimitive(UnsafeRawPointer($0), engine: engine) })
        else { return nil }
        guard let codes = DNNLOperand(user: DNNLDesc(s.src, dnnl_u8, dnnl_nhwc), wanted: p.desc(dnnl_query_src_md),
                                      isOutput: false, scratch: .convertedInput, engine: engine),
              let signs = DNNLOperand(user: DNNLDesc(s.weights, dnnl_s8, dnnl_oihw),
                                      wanted: p.desc(dnnl_query_weights_md), isOutput: false, engine: engine),
              let sums = DNNLOperand(user: DNNLDesc(s.dst, dnnl_s32, dnnl_nhwc), wanted: p.desc(dnnl_query_dst_md),
                                     isOutput: true, scratch: .convertedOutput, engine: engine)
        else { return nil }
        primitive = p
        self.codes = codes; self.signs = signs; self.sums = sums
    }

    /// The kernel oneDNN picked, e.g. `brgconv:avx512_core_vnni`.
    public var implementation: String { primitive.implementation }

    /// The layer's output from its integer operands:
    ///
    ///     y[n, p, c] = scale_c·(B ⊛ j)[n, p, c] + offset_c·(1 ⊛ j)[n, p] + bias_c
    ///
    /// with scale = Δα and offset = Δβ per output channel (`IntegerView`). codes [N, H, W, Cin], y [N, outH, outW,
    /// Cout] (both channels-last; Float, or rounded to bf16 with `bf16`), signs [Cout, Cin, kh, kw]. The integer
    /// sums live in the shared workspace.
    /// With `levels` (2ᵏ − 1 of the codes), the engine's own kernel runs it where it applies (`IntegerConv3x3`: the
    /// same bits, the sums kept in registers).
    public func forward(codes: UnsafePointer<UInt8>, signs: UnsafePointer<Int8>, scale: [Float], offset: [Float],
                        bias: UnsafePointer<Float>?, y: UnsafeMutableRawPointer, bf16: Bool = false,
                        levels: Int? = nil) {
        let P = geometry.outPixels
        let window = EngineContext.workspace.buffer(.windowSums, bytes: batch * P * 4)
            .bindMemory(to: Int32.self, capacity: batch * P)
        IntegerConvKernels.windowSums(codes: codes, batch: batch, geometry: geometry, into: window)
        if let levels, let own = ownKernel(levels: levels) {
            let shift = bias.map { b in (0..<outChannels).map { b[$0] } } ?? [Float](repeating: 0, count: outChannels)
            own.forward(y: y, codes: codes, signs: signs, windowSums: window, scale: scale, offset: offset,
                        shift: shift, bf16: bf16)
            return
        }
        let sums = EngineContext.workspace.buffer(.integerSums, bytes: batch * outChannels * P * 4)
            .bindMemory(to: Int32.self, capacity: batch * outChannels * P)
        forward(codes: codes, signs: signs, sums: sums)
        IntegerConvKernels.combine(y: y, sums: sums, windowSums: window, scale: scale, offset: offset, bias: bias,
                                   batch: batch, outChannels: outChannels, positions: P, bf16: bf16)
    }

    /// The engine's own kernel for codes below `levels` + 1, where it applies: not where oneDNN has AMX (or is capped
    /// below AVX512-VNNI), whose kernel is then the faster.
    public func ownKernel(levels: Int) -> IntegerConv3x3? {
        guard IntegerConv3x3.enabled, primitive.implementation.hasSuffix("avx512_core_vnni") else { return nil }
        return IntegerConv3x3(batch: batch, outChannels: outChannels, geometry: geometry, levels: levels)
    }

    /// sums [N, outH, outW, Cout] = B ⊛ j for codes [N, H, W, Cin] (both channels-last) and signs
    /// [Cout, Cin, kh, kw].
    public func forward(codes input: UnsafePointer<UInt8>, signs weights: UnsafePointer<Int8>,
                        sums out: UnsafeMutablePointer<Int32>) {
        codes.load(input, engine: engine)
        signs.load(weights, engine: engine)
        sums.bind(out)
        engine.execute(primitive.primitive, [arg(DNNL_ARG_SRC, codes.handle), arg(DNNL_ARG_WEIGHTS, signs.handle),
                                             arg(DNNL_ARG_DST, sums.handle)])
        sums.store(engine: engine)
    }
}
