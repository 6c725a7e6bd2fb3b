import CConvKernels
import Foundation

/// A bf16 3 × 3 convolution with stride 1 and padding 1 on 16 or 32 input channels, on the engine's own AVX512-BF16
/// kernel (`bwma_bf16_conv3x3_forward`): bf16 operands channels-last, exact products, fp32 sums, the output fp32 or
/// rounded to bf16 — the arithmetic of oneDNN's bf16 forward, with the sums in another order. On ResNet-20's 16- and
/// 32-channel stages oneDNN 2.6's `brgconv` runs at ~70–85 % of the core's bf16 peak; this kernel near it
/// (docs/benchmarks.md, stop 35). `DNNLConvolution` runs its forward here where the shape fits, and a stride-1
/// layer's input gradient too, as the forward of the transposed convolution (`DNNLConvolution.TransposedData`).
///
/// Images are spread over `Parallel`'s workers; each output element is written once, so the result does not depend
/// on the thread count.
public struct BF16Conv3x3 {
    let shape: bwma_conv_shape

    /// The kernel's name where oneDNN's implementation names are listed (and in `ONEDNN_VERBOSE` lines).
    public static let implementation = "bwma_bf16_3x3:avx512_core_bf16"

    /// Whether `DNNLConvolution`s created from now on take this kernel where it applies (off: oneDNN's run; tests and
    /// benchmarks compare the two).
    nonisolated(unsafe) public static var enabled = true

    /// nil where the CPU lacks AVX512-BF16 or the shape is not one the kernel takes (`bwma_bf16_conv3x3_supports`).
    public init?(batch: Int, outChannels: Int, geometry g: ConvGeometry) {
        var s = g.cShape(batch: batch, outChannels: outChannels)
        guard bwma_bf16_conv3x3_supports(&s) != 0 else { return nil }
        shape = s
    }

    /// y [N, H, W, Cout] (fp32, or bf16 with `bf16Output`) = x ⋆ W for x [N, H, W, Cin] (bf16 bit patterns) and the
    /// fp32 weights W [Cout, Cin, 3, 3] — or, `turned`, W [Cin, Cout, 3, 3] with its channels swapped and its kernel
    /// turned by 180° (the input gradient of the convolution W belongs to, whose output gradient x is). The weights
    /// are rounded to bf16 (nearest, ties to even) as oneDNN's reorder does.
    public func forward(y: UnsafeMutableRawPointer, x: UnsafePointer<UInt16>, weight: UnsafePointer<Float>,
                        turned: Bool = false, bf16Output: Bool) {
        let start = BF16WeightGradient.logsCalls ? ProcessClock.now() : 0
        var s = shape
        let words = bwma_bf16_conv3x3_packed_words(&s)
        let packed = EngineContext.workspace.buffer(.conv3x3Weights, bytes: 4 * words)
            .bindMemory(to: UInt32.self, capacity: words)
        bwma_bf16_conv3x3_pack(&s, weight, turned ? 1 : 0, packed)
        Parallel.pieces(Int(s.batch)) { _, images in
            var s = shape
            bwma_bf16_conv3x3_forward(&s, x, packed, y, bf16Output ? 1 : 0, Int32(images.lowerBound),
                                      Int32(images.count))
        }
        if BF16WeightGradient.logsCalls {
            print(logLine(turned: turned, bf16Output: bf16Output)
                  + String(format: ",%.4f", (ProcessClock.now() - start) * 1e3))
        }
    }

    /// The `ONEDNN_VERBOSE` line of a call, less its time: a forward (`forward_training`), or the input gradient it
    /// stands for (`backward_data`, in the layer's own shape) where `turned`.
    func logLine(turned: Bool, bf16Output: Bool) -> String {
        var s = shape
        if turned { swap(&s.channels, &s.out_channels) }
        let out = bf16Output ? "bf16" : "f32"
        return "onednn_verbose,exec,cpu,convolution,\(BF16Conv3x3.implementation),"
            + (turned ? "backward_data," : "forward_training,")
            + "src_bf16::blocked:acdb:f0 wei_bf16::blocked:abcd:f0 bia_undef::undef::f0 dst_\(out)::blocked:acdb:f0,,"
            + "alg:convolution_direct,\(s.verboseProblem)"
    }
}
