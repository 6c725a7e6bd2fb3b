import CConvKernels

/// The pointwise parts of the exact integer forward of a binarized convolution (the integer sums B ⊛ j themselves
/// come from `DNNLIntegerConvolution`, or from `reference` in tests):
///
///     y[n, c, p] = (Δα_c)·(B ⊛ j)[n, c, p] + (Δβ_c)·(1 ⊛ j)[n, p] + bias_c
public enum IntegerConvKernels {
    /// The k-bit codes of x, transposed to channels-last: codes[n, p, c] = j(x[n, c, p]) with
    /// j = round_half_even(clamp(x, 0, c)·(2ᵏ − 1)/c) — `QuantizationKernels.quantize`'s arithmetic, so its output is
    /// fl(j·Δ) bit for bit, and a value on the grid, y = fl(j·Δ), has code j (y·(2ᵏ − 1)/c is within a few ulps of j).
    /// x [N, C, P] (P = H·W, or 1 for a vector or an input already channels-last), codes [N, P, C].
    public static func codes(of x: UnsafePointer<Float>, batch: Int, channels C: Int, positions P: Int,
                             clip: Float, levels: Int, into codes: UnsafeMutablePointer<UInt8>) {
        let inv = Float(levels) / clip
        if P == 1 {  // channels-last input: the same layout, one flat pass
            flatCodes(x, batch * C, clip: clip, inv: inv, into: codes)
            return
        }
        Parallel.pieces(batch) { _, range in
            for n in range {
                let out = codes + n * P * C
                for c in 0..<C {
                    let src = x + (n * C + c) * P
                    for p in 0..<P { out[p * C + c] = code(src[p], clip: clip, inv: inv) }
                }
            }
        }
    }

    /// Round half to even by the FPU: adding 1.5·2²³ to a value in [0, 2²²) leaves the integer in the low mantissa
    /// bits.
    @inline(__always)
    static func code(_ v: Float, clip: Float, inv: Float) -> UInt8 {
        let t = Swift.min(Swift.max(v, 0), clip) * inv
        return UInt8(truncatingIfNeeded: (t + 12_582_912).bitPattern)
    }

    /// codes[i] = j(x[i]) for `count` values: one contiguous loop (the compiler vectorizes it), the same
    /// operations as the transposing loop.
    static func flatCodes(_ x: UnsafePointer<Float>, _ count: Int, clip: Float, inv: Float,
                          into codes: UnsafeMutablePointer<UInt8>) {
        Parallel.pieces(count) { _, range in
            for i in range { codes[i] = code(x[i], clip: clip, inv: inv) }
        }
    }

    /// The values of codes: y[i] = fl(j[i]·Δ), the quantizer's output bit for bit (`codes(of:)`).
    public static func values(ofCodes codes: UnsafePointer<UInt8>, count: Int, step: Float,
                              into y: UnsafeMutablePointer<Float>) {
        Parallel.pieces(count) { _, range in
            for i in range { y[i] = Float(codes[i]) * step }
        }
    }

    /// The values of codes in bf16: the top half of fl(j·Δ) rounded to nearest, ties to even — what oneDNN's
    /// fp32 → bf16 conversion makes of `values(ofCodes:)` (finite, non-denormal values).
    public static func bf16Values(ofCodes codes: UnsafePointer<UInt8>, count: Int, step: Float,
                                  into out: UnsafeMutablePointer<UInt16>) {
        Parallel.pieces(count) { _, range in
            for i in range { out[i] = BFloat16(Float(codes[i]) * step).bits }
        }
    }

    /// S₁[n, p] = (1 ⊛ j)[n, p]: the sum of the codes under output position p's window, over all input channels
    /// (zero padding) — codes [N, H, W, C] channels-last, sums [N, outH·outW]. One image per call of the C kernel
    /// (`bwma_window_sums`: the channel sums of every pixel by VPSADBW into a zero-bordered plane, then the kernel's
    /// rows and columns over it), images spread over the workers.
    public static func windowSums(codes: UnsafePointer<UInt8>, batch: Int, geometry g: ConvGeometry,
                                  into sums: UnsafeMutablePointer<Int32>) {
        var shape = g.cShape(batch: 1, outChannels: 1)
        let scratchInts = bwma_window_sums_scratch_ints(&shape)
        Parallel.pieces(batch) { worker, range in
            let scratch = EngineContext.workspace.buffer(.windowSumsScratch, worker: worker, bytes: 4 * scratchInts)
                .bindMemory(to: Int32.self, capacity: scratchInts)
            var s = shape
            for n in range {
                bwma_window_sums(&s, codes + n * g.height * g.width * g.channels, sums + n * g.outPixels, scratch)
            }
        }
    }

    /// y[n, p, c] = scale_c·S[n, p, c] + offset_c·S₁[n, p] (+ bias_c), all channels-last: sums [N, P, Cout]
    /// (B ⊛ j), windowSums [N, P] (1 ⊛ j), scale = Δα and offset = Δβ per output channel; y [N, P, Cout] in Float,
    /// or (`bf16`) those Floats rounded to bf16 (nearest, ties to even).
    public static func combine(y: UnsafeMutableRawPointer, sums: UnsafePointer<Int32>,
                               windowSums: UnsafePointer<Int32>, scale: [Float], offset: [Float],
                               bias: UnsafePointer<Float>?, batch: Int, outChannels C: Int, positions P: Int,
                               bf16: Bool = false) {
        var shift = [Float](repeating: 0, count: C)
        if let bias { for c in 0..<C { shift[c] = bias[c] } }
        let yf = y.assumingMemoryBound(to: Float.self), yb = y.assumingMemoryBound(to: BFloat16.self)
        scale.withUnsafeBufferPointer { sc in
            offset.withUnsafeBufferPointer { of in
                shift.withUnsafeBufferPointer { sh in
                    let sc = sc.baseAddress!, of = of.baseAddress!, sh = sh.baseAddress!
                    Parallel.pieces(batch * P) { _, rows in
                        for r in rows {
                            let s = sums + r * C, w = Float(windowSums[r])
                            if bf16 {
                                let out = yb + r * C
                                for c in 0..<C { out[c] = BFloat16(sc[c] * Float(s[c]) + (of[c] * w + sh[c])) }
                            } else {
                                let out = yf + r * C
                                for c in 0..<C { out[c] = sc[c] * Float(s[c]) + (of[c] * w + sh[c]) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// B ⊛ j by direct summation in integers (the reference the oneDNN kernel must equal bit for bit).
    /// codes [N, H, W, C] (channels-last), signs [Cout, C, kh, kw], sums [N, outH·outW, Cout] (channels-last).
    public static func reference(codes: UnsafePointer<UInt8>, signs: UnsafePointer<Int8>, batch: Int,
                                 outChannels: Int, geometry g: ConvGeometry, into sums: UnsafeMutablePointer<Int32>) {
        let P = g.outPixels, hw = g.height * g.width, K = g.columnRows
        for n in 0..<batch {
            for co in 0..<outChannels {
                for oy in 0..<g.outH {
                    for ox in 0..<g.outW {
                        var s: Int32 = 0
                        for c in 0..<g.channels {
                            for ky in 0..<g.kernelH {
                                let iy = oy * g.strideH - g.padH + ky
                                guard iy >= 0 && iy < g.height else { continue }
                                for kx in 0..<g.kernelW {
                                    let ix = ox * g.strideW - g.padW + kx
                                    guard ix >= 0 && ix < g.width else { continue }
                                    let j = Int32(codes[(n * hw + iy * g.width + ix) * g.channels + c])
                                    s += j * Int32(signs[co * K + (c * g.kernelH + ky) * g.kernelW + kx])
                                }
                            }
                        }
                        sums[(n * P + oy * g.outW + ox) * outChannels + co] = s
                    }
                }
            }
        }
    }
}
