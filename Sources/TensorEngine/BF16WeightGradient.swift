import CConvKernels
import Foundation

/// A bf16 convolution's weight gradient, dW[o, c, i, j] += Σ dy[n, o, y, x] · x[n, c, y·s + i − p, x·s + j − p], on
/// AVX512-BF16's VDPBF16PS: bf16 operands (both channels-last), exact products, fp32 sums — the arithmetic of
/// oneDNN's bf16 kernels. On CPUs without AMX oneDNN 2.6 runs this pass with its `jit_bf16` kernel, at 41–83 % of
/// the core's bf16 peak on ResNet layers (docs/benchmarks.md); this one runs at 85–95 % on its own, and
/// `DNNLConvolution` takes it where oneDNN picked that kernel and this one is faster (`outrunsOneDNN`).
///
/// Batches split over `Parallel`'s workers, each summing its images into its own fp32 partial (a workspace slot);
/// the partials' sum (in worker order) is then added into dW, the output channels split over the workers. The sums'
/// order differs from oneDNN's, so the results agree to fp32 rounding, not bit for bit; with the same thread count a
/// run repeats bit for bit.
public struct BF16WeightGradient {
    let shape: bwma_conv_shape

    /// Whether this kernel outruns oneDNN 2.6's `jit_bf16:avx512_core_bf16` on this shape (measured on ResNet-20 and
    /// ResNet-18 layers in training steps, docs/benchmarks.md): every strided convolution (oneDNN's at 41–60 % of the
    /// bf16 peak, this one at 47–83 %), and any whose fp32 weight gradient fits in 1 MiB, so that the partial sums
    /// stay in L2 (63–83 % → 73–82 %). Wider stride-1 layers (ResNet-18's 256 and 512 channels) stay on oneDNN,
    /// which keeps 81–95 % there while two workers' partial sums here outgrow the caches.
    public var outrunsOneDNN: Bool {
        let s = shape
        let gradientBytes = 4 * Int(s.out_channels) * Int(s.channels) * Int(s.kernel_h) * Int(s.kernel_w)
        return s.stride_h > 1 || s.stride_w > 1 || gradientBytes <= 1 << 20
    }

    /// The kernel's name where oneDNN's implementation names are listed (`DNNLConvolution.implementations`, the
    /// `ONEDNN_VERBOSE` lines below).
    public static let implementation = "bwma_bf16:avx512_core_bf16"

    /// Whether this CPU has the instructions (AVX-512 F/BW/VL and AVX512-BF16).
    public static var available: Bool { bwma_bf16_weight_gradient_available() != 0 }

    /// nil where the CPU lacks the instructions or the shape is not one the kernel takes (channel counts that are
    /// not multiples of 16).
    public init?(batch: Int, outChannels: Int, geometry g: ConvGeometry) {
        var s = g.cShape(batch: batch, outChannels: outChannels)
        guard BF16WeightGradient.available, bwma_bf16_weight_gradient_supports(&s) != 0 else { return nil }
        shape = s
    }

    /// dW (fp32, OIHW) += the weight gradient of bf16 x [N, H, W, Cin] and dy [N, outH, outW, Cout] (channels-last
    /// bit patterns).
    public func accumulate(dWeight: UnsafeMutablePointer<Float>, x: UnsafePointer<UInt16>, dy: UnsafePointer<UInt16>) {
        accumulate(dWeight: dWeight, dy: dy) { s, first, count, partial, scratch in
            bwma_bf16_weight_gradient(s, x, dy, first, count, partial, scratch)
        }
    }

    /// As above for an input given as codes j (bytes, channels-last), read as the bf16 of j (exact): the gradient of
    /// the codes, Σ j·dy, without a bf16 copy of the input.
    public func accumulate(dWeight: UnsafeMutablePointer<Float>, codes: UnsafePointer<UInt8>,
                           dy: UnsafePointer<UInt16>) {
        accumulate(dWeight: dWeight, dy: dy) { s, first, count, partial, scratch in
            bwma_bf16_weight_gradient_of_codes(s, codes, dy, first, count, partial, scratch)
        }
    }

    /// Whether `ONEDNN_VERBOSE` asks for oneDNN's execution log: each call then prints a line in oneDNN 2.x's `exec`
    /// format (kernel `bwma_bf16:avx512_core_bf16`, its time in ms), so that bench/conv_roofline.py and other
    /// readers of that log count this kernel with the convolutions whose pass it runs.
    static let logsCalls = getenv("ONEDNN_VERBOSE").map { atoi($0) >= 1 } ?? false

    /// The line `logsCalls` prints for a call, less its time (`,<ms>`).
    public var logLine: String {
        "onednn_verbose,exec,cpu,convolution,\(BF16WeightGradient.implementation),backward_weights,"
            + "src_bf16::blocked:acdb:f0 wei_f32::blocked:abcd:f0 bia_undef::undef::f0 dst_bf16::blocked:acdb:f0,,"
            + "alg:convolution_direct,\(shape.verboseProblem)"
    }

    /// Runs `kernel(shape, first image, image count, partial, scratch)` over the batch's chunks, then adds the
    /// partials into dW.
    private func accumulate(
        dWeight: UnsafeMutablePointer<Float>, dy: UnsafePointer<UInt16>,
        _ kernel: (UnsafePointer<bwma_conv_shape>, Int32, Int32, UnsafeMutablePointer<Float>, UnsafeMutableRawPointer)
            -> Void
    ) {
        let start = BF16WeightGradient.logsCalls ? ProcessClock.now() : 0
        defer {
            if BF16WeightGradient.logsCalls {
                print(logLine + String(format: ",%.4f", (ProcessClock.now() - start) * 1e3))
            }
        }
        var s = shape
        let workers = Swift.min(Parallel.threads, Int(s.batch)), workspace = EngineContext.workspace
        let floats = bwma_bf16_weight_gradient_partial_floats(&s)
        let scratchBytes = bwma_bf16_weight_gradient_scratch_bytes(&s)
        // Each worker's partial, and whether it ran (OpenMP may run fewer workers than asked).
        let partials = (0..<workers).map { workspace.buffer(.weightGradPartial, worker: $0, count: floats) }
        var ran = [Bool](repeating: false, count: workers)
        ran.withUnsafeMutableBufferPointer { ran in
            Parallel.chunks(Int(s.batch)) { worker, range in
                var s = shape
                let scratch = workspace.buffer(.weightGradScratch, worker: worker, bytes: scratchBytes)
                kernel(&s, Int32(range.lowerBound), Int32(range.count), partials[worker], scratch)
                ran[worker] = true
            }
        }
        let summed: [UnsafePointer<Float>?] = zip(partials, ran).compactMap { $1 ? UnsafePointer($0) : nil }
        summed.withUnsafeBufferPointer { summed in
            Parallel.pieces(Int(s.out_channels) / 16) { _, blocks in
                var s = shape
                bwma_bf16_weight_gradient_add(&s, summed.baseAddress, Int32(summed.count), dWeight,
                                              Int32(blocks.lowerBound), Int32(blocks.count))
            }
        }
    }
}
