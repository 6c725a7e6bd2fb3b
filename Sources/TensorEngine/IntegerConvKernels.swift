/// The pointwise parts of the exact integer forward of a binarized convolution (the integer sums B ⊛ j themselves
/// come from `DNNLIntegerConvolution`, or from `reference` in tests):
///
///     y[n, c, p] = (Δα_c)·(B ⊛ j)[n, c, p] + (Δβ_c)·(1 ⊛ j)[n, p] + bias_c
public enum IntegerConvKernels {
    /// The integer codes of values on a k-bit grid (the output of an activation quantizer with range `clip`),
    /// transposed to channels-last: codes[n, p, c] = j(y[n, c, p]) with j = round(y·(2ᵏ − 1)/c) clamped to
    /// 0…2ᵏ − 1. Exact for every grid value y = fl(j·Δ): y·(2ᵏ − 1)/c is within a few ulps of j, far less than ½, for
    /// j ≤ 255. y [N, C, P] (P = H·W, or 1 for a vector), codes [N, P, C].
    public static func codes(ofQuantized y: UnsafePointer<Float>, batch: Int, channels C: Int, positions P: Int,
                             clip: Float, levels: Int, into codes: UnsafeMutablePointer<UInt8>) {
        let inv = Float(levels) / clip, top = Float(levels)
        // Round half to even by the FPU: adding 1.5·2²³ leaves the integer in the low mantissa bits.
        let magic: Float = 12_582_912
        if P == 1 {  // channels-last input: the same layout, one flat pass
            flatCodes(y, batch * C, inv: inv, top: top, magic: magic, into: codes)
            return
        }
        Parallel.chunks(batch) { _, range in
            for n in range {
                let out = codes + n * P * C
                for c in 0..<C {
                    let src = y + (n * C + c) * P
                    for p in 0..<P {
                        let t = Swift.min(Swift.max(src[p] * inv, 0), top) + magic
                        out[p * C + c] = UInt8(truncatingIfNeeded: t.bitPattern)
                    }
                }
            }
        }
    }

    /// codes[i] = j(y[i]) for `count` values: one contiguous loop (the compiler vectorizes it), the same
    /// operations as the transposing loop.
    static func flatCodes(_ y: UnsafePointer<Float>, _ count: Int, inv: Float, top: Float, magic: Float,
                          into codes: UnsafeMutablePointer<UInt8>) {
        let chunk = 1 << 14
        Parallel.chunks((count + chunk - 1) / chunk) { _, range in
            for c in range {
                for i in (c * chunk)..<Swift.min(count, (c + 1) * chunk) {
                    let t = Swift.min(Swift.max(y[i] * inv, 0), top) + magic
                    codes[i] = UInt8(truncatingIfNeeded: t.bitPattern)
                }
            }
        }
    }

    /// (1 ⊛ j)[n, p]: the sum of the codes under each output position's window over all input channels (padding
    /// counts as code 0). codes [N, H, W, C] (channels-last); sums [N, outH·outW].
    public static func windowSums(codes: UnsafePointer<UInt8>, batch: Int, geometry g: ConvGeometry,
                                  into sums: UnsafeMutablePointer<Int32>) {
        let hw = g.height * g.width, P = g.outPixels, C = g.channels
        Parallel.chunks(batch) { _, range in
            let plane = UnsafeMutablePointer<Int32>.allocate(capacity: hw)
            defer { plane.deallocate() }
            for n in range {
                // Σ over channels first (contiguous in channels-last), then a k×k box sum per output position.
                let xn = codes + n * hw * C
                for i in 0..<hw {
                    var s: Int32 = 0
                    let px = xn + i * C
                    for c in 0..<C { s &+= Int32(px[c]) }
                    plane[i] = s
                }
                let out = sums + n * P
                for oy in 0..<g.outH {
                    let y0 = oy * g.strideH - g.padH
                    let ky0 = Swift.max(0, -y0), ky1 = Swift.min(g.kernelH, g.height - y0)
                    for ox in 0..<g.outW {
                        let x0 = ox * g.strideW - g.padW
                        let kx0 = Swift.max(0, -x0), kx1 = Swift.min(g.kernelW, g.width - x0)
                        var s: Int32 = 0
                        if ky1 > ky0 && kx1 > kx0 {
                            for ky in ky0..<ky1 {
                                let row = (y0 + ky) * g.width + x0
                                for kx in kx0..<kx1 { s &+= plane[row + kx] }
                            }
                        }
                        out[oy * g.outW + ox] = s
                    }
                }
            }
        }
    }

    /// y[n, p, c] = scale_c·S[n, p, c] + offset_c·S₁[n, p] (+ bias_c), all channels-last: sums [N, P, Cout]
    /// (B ⊛ j), windowSums [N, P] (1 ⊛ j), scale = Δα and offset = Δβ per output channel; y [N, P, Cout].
    public static func combine(y: UnsafeMutablePointer<Float>, sums: UnsafePointer<Int32>,
                               windowSums: UnsafePointer<Int32>, scale: [Float], offset: [Float],
                               bias: UnsafePointer<Float>?, batch: Int, outChannels C: Int, positions P: Int) {
        var shift = [Float](repeating: 0, count: C)
        if let bias { for c in 0..<C { shift[c] = bias[c] } }
        scale.withUnsafeBufferPointer { sc in
            offset.withUnsafeBufferPointer { of in
                shift.withUnsafeBufferPointer { sh in
                    let sc = sc.baseAddress!, of = of.baseAddress!, sh = sh.baseAddress!
                    Parallel.chunks(batch * P) { _, rows in
                        for r in rows {
                            let s = sums + r * C, out = y + r * C, w = Float(windowSums[r])
                            for c in 0..<C { out[c] = sc[c] * Float(s[c]) + (of[c] * w + sh[c]) }
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
