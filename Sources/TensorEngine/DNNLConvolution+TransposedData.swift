import CDNNL

extension DNNLConvolution {
    /// A stride-1 bf16 convolution's input gradient as a forward convolution: dx = dy ⋆ W', W'[c, o, i, j] =
    /// W[o, c, K_h − 1 − i, K_w − 1 − j] (the weights' channels swapped and the kernel turned by 180°), padding
    /// K − 1 − p. The same products and fp32 sums as backward data, in another order.
    ///
    /// Why: on CPUs without AMX, oneDNN 2.6 runs bf16 backward data with its `jit_bf16` kernel and the forward with
    /// `brgconv`, which keeps closer to the core's peak on ResNet-18's wider layers (one layer, two threads, batch
    /// 32: 64 → 64 at 56 × 56 17.9 → 17.0 ms, 256 → 256 at 14 × 14 16.8 → 16.0 ms, 512 → 512 at 7 × 7 17.3 →
    /// 14.1 ms; `bench/backward_data_transposed.c`) but not on ResNet-20's (16 channels at 32 × 32: 3.0 → 3.5 ms).
    /// Taken where oneDNN picked `jit_bf16` for backward data: on the engine's own 3 × 3 kernel where the transposed
    /// shape is one it takes (16 or 32 output channels here, `BF16Conv3x3`), else on oneDNN's `brgconv` forward where
    /// both channel counts are at least 64.
    final class TransposedData {
        /// oneDNN's forward primitive on W' in bf16 OIHW (written here, in the workspace) converted to its layout,
        /// or the engine's own 3 × 3 kernel, which turns the fp32 weights itself.
        enum Kernel {
            case onednn(DNNLPrimitive, weights: DNNLOperand)
            case own(BF16Conv3x3)
        }
        let kernel: Kernel
        let outChannels: Int, geometry: ConvGeometry

        init?(_ c: DNNLConvolution, data: DNNLPrimitive) {
            let g = c.geometry
            guard c.precision == .bf16, g.strideH == 1, g.strideW == 1, g.padH < g.kernelH, g.padW < g.kernelW,
                  !c.hasBias, data.implementation.hasPrefix("jit_bf16") else { return nil }
            let s = DNNLConvolution.shapes(c.batch, c.outChannels, g)
            outChannels = c.outChannels; geometry = g
            // dy and dx as the forward reads and writes them: plain channels-last, bf16 in and fp32 out.
            let plain = data.desc(dnnl_query_diff_dst_md) == DNNLDesc(s.dst, dnnl_bf16, dnnl_nhwc)
                && data.desc(dnnl_query_diff_src_md) == DNNLDesc(s.src, dnnl_f32, dnnl_nhwc)
            let turned = ConvGeometry(channels: c.outChannels, height: g.outH, width: g.outW,
                                      kernel: (g.kernelH, g.kernelW), stride: (1, 1),
                                      padding: (g.kernelH - 1 - g.padH, g.kernelW - 1 - g.padW))
            if plain, BF16Conv3x3.enabled, data.implementation.hasSuffix("avx512_core_bf16"),
               turned.outH == g.height, turned.outW == g.width,
               let own = BF16Conv3x3(batch: c.batch, outChannels: g.channels, geometry: turned) {
                kernel = .own(own)
                return
            }
            guard g.channels >= 64, c.outChannels >= 64 else { return nil }
            let wShape = [g.channels, c.outChannels, g.kernelH, g.kernelW]
            let padding = [dnnl_dim_t(g.kernelH - 1 - g.padH), dnnl_dim_t(g.kernelW - 1 - g.padW)]
            var src = DNNLDesc(s.dst, dnnl_bf16, dnnl_nhwc), wei = DNNLDesc(wShape, dnnl_bf16, dnnl_format_tag_any)
            var dst = DNNLDesc(s.src, dnnl_f32, dnnl_nhwc)
            var cd = dnnl_convolution_desc_t()
            guard dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &src.md,
                                                     &wei.md, nil, &dst.md, s.strides, padding, padding)
                    == dnnl_success,
                  let p = withUnsafePointer(to: &cd, { DNNLPrimitive(UnsafeRawPointer($0), engine: c.engine) }),
                  p.implementation.hasPrefix("brgconv"),
                  // It reads dy and writes dx in the layouts backward data does (the same memories serve).
                  p.desc(dnnl_query_src_md) == data.desc(dnnl_query_diff_dst_md),
                  p.desc(dnnl_query_dst_md) == data.desc(dnnl_query_diff_src_md),
                  let w = DNNLOperand(user: DNNLDesc(wShape, dnnl_bf16, dnnl_oihw),
                                      wanted: p.desc(dnnl_query_weights_md), isOutput: false,
                                      scratch: .convertedWeightsForData, engine: c.engine)
            else { return nil }
            kernel = .onednn(p, weights: w)
        }

        /// The kernel, as `implementations` lists it.
        var implementation: String {
            switch kernel {
            case .onednn(let p, _): return "\(p.implementation) (transposed forward)"
            case .own: return "\(BF16Conv3x3.implementation) (transposed forward)"
            }
        }

        /// dx = dy ⋆ W' with dy and dx the backward-data operands' memories (bound by the caller).
        func run(dy: DNNLOperand, dx: DNNLOperand, weight: UnsafePointer<Float>, engine: DNNL) {
            switch kernel {
            case .own(let own):
                own.forward(y: UnsafeMutableRawPointer(mutating: dx.pointer),
                            x: dy.pointer.assumingMemoryBound(to: UInt16.self), weight: weight, turned: true,
                            bf16Output: false)
            case .onednn(let primitive, let weights):
                let g = geometry, count = outChannels * g.channels * g.kernelH * g.kernelW
                let flipped = EngineContext.workspace.buffer(.transposedWeights, bytes: 2 * count)
                    .bindMemory(to: BFloat16.self, capacity: count)
                Self.transpose(weight, into: flipped, outChannels: outChannels, geometry: g)
                weights.load(flipped, engine: engine)
                engine.execute(primitive.primitive, [arg(DNNL_ARG_SRC, dy.handle),
                                                     arg(DNNL_ARG_WEIGHTS, weights.handle),
                                                     arg(DNNL_ARG_DST, dx.handle)])
            }
        }

        /// W' [C, O, K_h, K_w] in bf16 (nearest, ties to even: oneDNN's conversion) from W [O, C, K_h, K_w]: turning
        /// a kernel by 180° reverses its taps. In 16 × 16 blocks of (c, o), so that a block's reads and writes stay
        /// on a few pages (walking all of o for one c strides K_h·K_w·C floats a step, a page apart from 128 channels:
        /// 1.6 % of a ResNet-18 bf16 step that way, 0.4 % in blocks).
        static func transpose(_ w: UnsafePointer<Float>, into t: UnsafeMutablePointer<BFloat16>, outChannels o: Int,
                              geometry g: ConvGeometry) {
            let c = g.channels, taps = g.kernelH * g.kernelW, block = 16
            Parallel.pieces((c + block - 1) / block) { _, range in
                for cb in range {
                    let cs = cb * block, ce = Swift.min(cs + block, c)
                    for os in stride(from: 0, to: o, by: block) {
                        for oi in os..<Swift.min(os + block, o) {
                            for ci in cs..<ce {
                                let from = w + (oi * c + ci) * taps, to = t + (ci * o + oi) * taps
                                for k in 0..<taps { to[k] = BFloat16(from[taps - 1 - k]) }
                            }
                        }
                    }
                }
            }
        }
    }
}
