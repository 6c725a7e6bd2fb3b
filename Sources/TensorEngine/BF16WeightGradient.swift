import CConvKernels

/// A bf16 convolution's weight gradient, dW[o, c, i, j] += Σ dy[n, o, y, x] · x[n, c, y·s + i − p, x·s + j − p], on
/// AVX512-BF16's VDPBF16PS: bf16 operands (both channels-last), exact products, fp32 sums — the arithmetic of
/// oneDNN's bf16 kernels. oneDNN 2.6 runs this pass at 56–84 % of the core's bf16 peak on CPUs without AMX (its
/// `jit_bf16` kernel; docs/benchmarks.md); this kernel runs at ~90 %, and `DNNLConvolution` takes it where oneDNN
/// picked that kernel.
///
/// Batches split over `Parallel`'s workers, each summing its images into its own fp32 partial (a workspace slot);
/// the partials are then added into dW in worker order. The sums' order differs from oneDNN's, so the results agree
/// to fp32 rounding, not bit for bit; with the same thread count a run repeats bit for bit.
public struct BF16WeightGradient {
    let shape: bwma_conv_shape

    /// Whether this CPU has the instructions (AVX-512 F/BW/VL and AVX512-BF16).
    public static var available: Bool { bwma_bf16_weight_gradient_available() != 0 }

    /// nil where the CPU lacks the instructions or the shape is not one the kernel takes (channel counts that are
    /// not multiples of 16).
    public init?(batch: Int, outChannels: Int, geometry g: ConvGeometry) {
        var s = bwma_conv_shape()
        s.batch = Int32(batch); s.channels = Int32(g.channels); s.height = Int32(g.height); s.width = Int32(g.width)
        s.out_channels = Int32(outChannels); s.out_height = Int32(g.outH); s.out_width = Int32(g.outW)
        s.kernel_h = Int32(g.kernelH); s.kernel_w = Int32(g.kernelW)
        s.stride_h = Int32(g.strideH); s.stride_w = Int32(g.strideW); s.pad_h = Int32(g.padH); s.pad_w = Int32(g.padW)
        guard BF16WeightGradient.available, bwma_bf16_weight_gradient_supports(&s) != 0 else { return nil }
        shape = s
    }

    /// dW (fp32, OIHW) += the weight gradient of bf16 x [N, H, W, Cin] and dy [N, outH, outW, Cout] (channels-last
    /// bit patterns).
    public func accumulate(dWeight: UnsafeMutablePointer<Float>, x: UnsafePointer<UInt16>, dy: UnsafePointer<UInt16>) {
        var s = shape
        let batch = Int(s.batch), workers = Swift.min(Parallel.threads, batch)
        let floats = bwma_bf16_weight_gradient_partial_floats(&s), scratchBytes = bwma_bf16_weight_gradient_scratch_bytes(&s)
        let workspace = EngineContext.workspace
        // Every worker's partial starts at zero (OpenMP may run fewer workers than asked: theirs stay zero).
        let partials: [UnsafePointer<Float>?] = (0..<workers).map { w in
            let p = workspace.buffer(.weightGradPartial, worker: w, count: floats)
            p.initialize(repeating: 0, count: floats)
            return UnsafePointer(p)
        }
        Parallel.chunks(batch) { worker, range in
            var s = shape
            let partial = workspace.buffer(.weightGradPartial, worker: worker, count: floats)
            let scratch = workspace.buffer(.weightGradScratch, worker: worker, bytes: scratchBytes)
            bwma_bf16_weight_gradient(&s, x, dy, Int32(range.lowerBound), Int32(range.count), partial, scratch)
        }
        partials.withUnsafeBufferPointer { bwma_bf16_weight_gradient_add(&s, $0.baseAddress, Int32(workers), dWeight) }
    }
}
