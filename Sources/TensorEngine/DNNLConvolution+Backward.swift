import CDNNL

extension DNNLConvolution {
    /// The backward-data and backward-weights primitives and their operands; an operand in the same layout as the
    /// forward's (input, weights) or the other backward's (output gradient) is shared, not converted twice.
    final class Backward {
        let data: DNNLPrimitive
        let weights: DNNLPrimitive
        /// The output gradient given in Float, and (bf16 convolutions) given in bf16.
        let floatGradient: Gradient
        let bf16Gradient: Gradient?
        let dx: DNNLOperand
        /// nil: the forward's converted weights serve.
        let weightsForData: DNNLOperand?
        /// Backward data as a forward convolution of dy with the turned weights, where that runs faster (nil: `data`).
        let transposedData: TransposedData?
        /// nil: the forward's converted input serves.
        let xForWeights: DNNLOperand?
        let dW: DNNLOperand
        let dB: DNNLOperand?
        /// The engine's own bf16 weight-gradient kernel, where oneDNN picked its `jit_bf16:avx512_core_bf16` one,
        /// reads both operands bf16 channels-last, and the shape is one where ours runs faster
        /// (`BF16WeightGradient.outrunsOneDNN`); nil: oneDNN's runs.
        let ownWeights: BF16WeightGradient?

        init?(_ c: DNNLConvolution) {
            let s = DNNLConvolution.shapes(c.batch, c.outChannels, c.geometry)
            let dt = c.precision == .bf16 ? dnnl_bf16 : dnnl_f32
            let e = c.engine
            let tag = c.algorithm.activationTag
            // Backward data (fp32 input gradient first, as in forward).
            var dataPrimitive: DNNLPrimitive?
            for outType in [dnnl_f32, dt] where dataPrimitive == nil {
                var dsrc = DNNLDesc(s.src, outType, tag), wei = DNNLDesc(s.weights, dt, dnnl_format_tag_any)
                var ddst = DNNLDesc(s.dst, dt, tag)
                var cd = dnnl_convolution_desc_t()
                guard dnnl_convolution_backward_data_desc_init(&cd, c.algorithm.kind, &dsrc.md, &wei.md,
                                                               &ddst.md, s.strides, s.padding, s.padding)
                    == dnnl_success else { continue }
                dataPrimitive = withUnsafePointer(to: &cd) {
                    DNNLPrimitive(UnsafeRawPointer($0), hint: c.forwardPrimitive, engine: e)
                }
            }
            var src = DNNLDesc(s.src, dt, tag), dwei = DNNLDesc(s.weights, dnnl_f32, dnnl_format_tag_any)
            var ddst = DNNLDesc(s.dst, dt, tag), dbia = DNNLDesc([c.outChannels], dnnl_f32, dnnl_a)
            var wd = dnnl_convolution_desc_t()
            let status = withUnsafePointer(to: &dbia.md) { bp in
                dnnl_convolution_backward_weights_desc_init(
                    &wd, c.algorithm.kind, &src.md, &dwei.md, c.hasBias ? bp : nil, &ddst.md, s.strides,
                    s.padding, s.padding)
            }
            guard status == dnnl_success,
                let weightsPrimitive = withUnsafePointer(to: &wd, {
                    DNNLPrimitive(UnsafeRawPointer($0), hint: c.forwardPrimitive, engine: e)
                })
            else { return nil }
            let inputTag = c.inputLayout == .nhwc ? dnnl_nhwc : dnnl_nchw
            let dyUser = DNNLDesc(s.dst, dnnl_f32, dnnl_nhwc), dxUser = DNNLDesc(s.src, dnnl_f32, inputTag)
            let xUser = DNNLDesc(s.src, c.bf16Input ? dnnl_bf16 : dnnl_f32, inputTag)
            let wUser = DNNLDesc(s.weights, dnnl_f32, dnnl_oihw), bUser = DNNLDesc([c.outChannels], dnnl_f32, dnnl_a)
            guard let dataPrimitive,
                  let floatGradient = Gradient(user: dyUser, data: dataPrimitive, weights: weightsPrimitive, engine: e),
                  let dx = DNNLOperand(user: dxUser, wanted: dataPrimitive.desc(dnnl_query_diff_src_md), isOutput: true,
                                       scratch: .convertedOutput, engine: e),
                  let dW = DNNLOperand(user: wUser, wanted: weightsPrimitive.desc(dnnl_query_diff_weights_md),
                                       isOutput: true, accumulate: true, scratch: .convertedWeightGradient, engine: e)
            else { return nil }
            // An operand in the layout another one already holds is shared (nil here); otherwise converted.
            func operand(_ user: DNNLDesc, _ wanted: DNNLDesc, sameAs existing: DNNLDesc,
                         scratch: Workspace.Slot?) -> DNNLOperand?? {
                if wanted == existing { return .some(nil) }
                guard let op = DNNLOperand(user: user, wanted: wanted, isOutput: false, scratch: scratch, engine: e)
                else { return nil }
                return .some(op)
            }
            guard let wForData = operand(wUser, dataPrimitive.desc(dnnl_query_weights_md), sameAs: c.w.desc,
                                         scratch: .convertedWeightsForData),
                  let xForW = operand(xUser, weightsPrimitive.desc(dnnl_query_src_md), sameAs: c.x.desc,
                                      scratch: .convertedInput)
            else { return nil }
            let dB = c.hasBias ? DNNLOperand(user: bUser, wanted: weightsPrimitive.desc(dnnl_query_diff_weights_md,
                                                                                      index: 1),
                                             isOutput: true, accumulate: true, engine: e) : nil
            if c.hasBias && dB == nil { return nil }
            data = dataPrimitive; weights = weightsPrimitive
            self.floatGradient = floatGradient; self.dx = dx; self.dW = dW; self.dB = dB
            bf16Gradient = c.precision == .bf16
                ? Gradient(user: DNNLDesc(s.dst, dnnl_bf16, dnnl_nhwc), data: dataPrimitive, weights: weightsPrimitive,
                           engine: e)
                : nil
            weightsForData = wForData; xForWeights = xForW
            transposedData = TransposedData(c, data: dataPrimitive)
            let plain = (src: DNNLDesc(s.src, dnnl_bf16, dnnl_nhwc), dst: DNNLDesc(s.dst, dnnl_bf16, dnnl_nhwc))
            let own = c.precision == .bf16 && !c.hasBias
                && weightsPrimitive.implementation == "jit_bf16:avx512_core_bf16"
                && weightsPrimitive.desc(dnnl_query_src_md) == plain.src
                && weightsPrimitive.desc(dnnl_query_diff_dst_md) == plain.dst
                ? BF16WeightGradient(batch: c.batch, outChannels: c.outChannels, geometry: c.geometry) : nil
            ownWeights = own?.outrunsOneDNN == true ? own : nil
        }

        /// The input gradient's kernel: oneDNN's backward data, or its forward on the turned weights.
        var dataImplementation: String {
            transposedData?.implementation ?? data.implementation
        }

        /// The weight gradient's kernel: oneDNN's implementation, or the engine's own.
        var weightsImplementation: String {
            ownWeights == nil ? weights.implementation : BF16WeightGradient.implementation
        }
    }

    /// The output gradient's operands from one user type: for backward data, and for backward weights where that
    /// wants another layout (nil: the first serves).
    struct Gradient {
        let data: DNNLOperand
        let weights: DNNLOperand?

        init?(user: DNNLDesc, data dataPrimitive: DNNLPrimitive, weights weightsPrimitive: DNNLPrimitive,
              engine e: DNNL) {
            guard let d = DNNLOperand(user: user, wanted: dataPrimitive.desc(dnnl_query_diff_dst_md),
                                      isOutput: false, scratch: .convertedGradient, engine: e)
            else { return nil }
            let wanted = weightsPrimitive.desc(dnnl_query_diff_dst_md)
            if wanted == d.desc {
                weights = nil
            } else {
                guard let w = DNNLOperand(user: user, wanted: wanted, isOutput: false,
                                          scratch: .convertedGradientForWeights, engine: e)
                else { return nil }
                weights = w
            }
            data = d
        }
    }
}
