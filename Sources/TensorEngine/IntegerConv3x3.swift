import CConvKernels
import Foundation

/// The exact integer forward of a binarized 3 × 3 convolution (stride 1, padding 1) on 16 or 32 input channels,
/// its per-channel terms applied in registers, on the engine's own AVX512-VNNI kernel
/// (`bwma_codes_conv3x3_forward`): `DNNLIntegerConvolution`'s result bit for bit — the same integer sums and
/// `IntegerConvKernels.combine`'s Float operations — without its 4-byte sums going to memory and back. Taken where
/// oneDNN runs its int8 convolution on AVX512-VNNI without AMX (ResNet-20's first two stages: docs/benchmarks.md,
/// stop 35). Images are spread over `Parallel`'s workers; each output element is written once.
public struct IntegerConv3x3 {
    let shape: bwma_conv_shape

    /// The kernel's name where oneDNN's implementation names are listed.
    public static let implementation = "bwma_codes_3x3:avx512_core_vnni"

    /// Whether `DNNLIntegerConvolution` runs this kernel where it applies (off: oneDNN's convolution and `combine`;
    /// tests compare the two).
    nonisolated(unsafe) public static var enabled = true

    /// nil where the CPU lacks AVX512-VNNI, the codes reach 128 (`levels` = 2ᵏ − 1), or the shape is not one the
    /// kernel takes (`bwma_codes_conv3x3_supports`).
    public init?(batch: Int, outChannels: Int, geometry g: ConvGeometry, levels: Int) {
        var s = g.cShape(batch: batch, outChannels: outChannels)
        guard bwma_codes_conv3x3_supports(&s, Int32(levels)) != 0 else { return nil }
        shape = s
    }

    /// y [N, H, W, Cout] = scale_c·(B ⊛ j) + (offset_c·S₁ + shift_c) (Float, or bf16 with `bf16`) from the codes
    /// [N, H, W, Cin], the signs [Cout, Cin, 3, 3] and the window sums S₁ [N, H·W].
    public func forward(y: UnsafeMutableRawPointer, codes: UnsafePointer<UInt8>, signs: UnsafePointer<Int8>,
                        windowSums: UnsafePointer<Int32>, scale: [Float], offset: [Float], shift: [Float],
                        bf16: Bool) {
        let start = BF16WeightGradient.logsCalls ? ProcessClock.now() : 0
        var s = shape
        let words = bwma_codes_conv3x3_packed_words(&s)
        let packed = EngineContext.workspace.buffer(.conv3x3Weights, bytes: 4 * words)
            .bindMemory(to: UInt32.self, capacity: words)
        bwma_codes_conv3x3_pack(&s, signs, packed)
        scale.withUnsafeBufferPointer { sc in
            offset.withUnsafeBufferPointer { of in
                shift.withUnsafeBufferPointer { sh in
                    var terms = bwma_codes_terms(scale: sc.baseAddress, offset: of.baseAddress, shift: sh.baseAddress)
                    Parallel.pieces(Int(s.batch)) { _, images in
                        var s = shape
                        bwma_codes_conv3x3_forward(&s, codes, packed, windowSums, &terms, y, bf16 ? 1 : 0,
                                                   Int32(images.lowerBound), Int32(images.count))
                    }
                }
            }
        }
        if BF16WeightGradient.logsCalls {
            print("onednn_verbose,exec,cpu,convolution,\(IntegerConv3x3.implementation),forward_inference,"
                  + "src_u8::blocked:acdb:f0 wei_s8::blocked:abcd:f0 bia_undef::undef::f0 "
                  + "dst_\(bf16 ? "bf16" : "f32")::blocked:acdb:f0,,alg:convolution_direct,\(shape.verboseProblem)"
                  + String(format: ",%.4f", (ProcessClock.now() - start) * 1e3))
        }
    }
}
