import CDNNL

extension DNNLConvolution {
    /// How oneDNN computes a convolution: directly, or by Winograd's minimal filtering.
    ///
    /// Winograd F(4 × 4, 3 × 3) (oneDNN's `jit_wino_4x3`, fp32 on AVX-512) computes a 3 × 3 stride-1 convolution's
    /// 6 × 6 input tiles in a transformed space where each 4 × 4 output tile costs 36 multiplications per input and
    /// output channel pair instead of 144: a quarter of the multiply-adds, plus the transforms, which are linear in
    /// the activations and cost memory traffic rather than arithmetic. It is taken for fp32 3 × 3 stride-1 layers
    /// with at least 32 input and output channels, where it outruns the direct kernels on these CPUs (docs/
    /// benchmarks.md, stop 37); with 16 channels the transforms dominate and its backward data is slower. Its
    /// results differ from the direct sums by rounding in the transforms: ~1e-6 of the largest output (relative L2
    /// error below 1e-6 on ResNet layers), against ~1e-7 for the direct kernels. Its operands are in oneDNN's
    /// blocked layout (`nChw16c`), converted from and to the engine's channels-last at the layer's boundary.
    enum Algorithm {
        case direct, winograd

        /// Whether a layer of this shape and precision tries Winograd first (the direct kernels where oneDNN has
        /// no Winograd implementation for it, e.g. below AVX-512).
        static func winogradApplies(_ precision: Precision, _ outChannels: Int, _ g: ConvGeometry) -> Bool {
            EngineContext.convAlgorithm == .auto && precision == .fp32 && g.kernelH == 3 && g.kernelW == 3
                && g.strideH == 1 && g.strideW == 1 && g.padH == 1 && g.padW == 1
                && g.channels >= 32 && outChannels >= 32
        }

        var kind: dnnl_alg_kind_t { self == .winograd ? dnnl_convolution_winograd : dnnl_convolution_direct }

        /// The activations' layout the primitive is created with: channels-last for the direct kernels (brgconv),
        /// oneDNN's choice for Winograd (which takes only its blocked layout).
        var activationTag: dnnl_format_tag_t { self == .winograd ? dnnl_format_tag_any : dnnl_nhwc }
    }
}
