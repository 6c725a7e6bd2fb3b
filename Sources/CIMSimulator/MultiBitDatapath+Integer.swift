import Models
import TensorEngine

/// The multi-bit datapath where it is exactly the 8-bit integer layer: ideal cells, no leakage, a lossless ADC and
/// every sum of the shift-add below 2²⁴. The crossbar's integers are then Σ U·u and Σ u, the shift-add is exact in
/// Float, and Σ U·u − 2ʷ⁻¹·Σ u = Σ W_q·u — so the layer runs as one u8 × s8 → s32 GEMM of the input codes u and the
/// weight codes W_q per image (instead of w bit-sliced weight columns through the bit-serial route), and the digital
/// step s_c·s_x·(Σ W_q·u − z·Σ W_q) + bias gives bit for bit the bit-serial route's y (`MultiBitDatapathTests`).
extension MultiBitCrossbarDatapath {
    /// Whether `forward` takes this route for these settings (and `runsIntegerLayer` allows it).
    func takesIntegerRoute(_ xb: CrossbarArray, rows K: Int, tileRows: Int, adc: ADCQuantizer, leak: Float) -> Bool {
        runsIntegerLayer && leak == 0 && weightBits <= 8 && IntegerGEMM.isAvailable
            && xb.runsExactGEMM(bits: 8, tileRows: tileRows, adc: adc) && 255 * 255 * K < 1 << 24
    }

    /// The route: y [N, M, P] (or [N, P, M] channels-last). `weightCodes` ([K, M], W_q) and the scales are set.
    func integerForward(_ op: DatapathOperands, y: UnsafeMutablePointer<Float>, planar: Bool) {
        let K = op.rows, M = op.outChannels, x = op.input, n = x.shape[0], perImage = x.count / Swift.max(n, 1)
        let P = op.geometry?.outPixels ?? 1
        // Without VNNI oneDNN pairs u8 × s8 products in s16 with saturation: 2·255·127 would overflow, so the codes
        // go in two 4-bit halves (2·15·127 fits) and S = 16·S_hi + S_lo.
        let halves = DNNL.hasVNNI ? 1 : 2
        let scaleOf = scales, sumOf = weightSums, frame = op.geometry.map { ImageFrame($0) }
        let bias = (0..<M).map { op.bias?[$0] ?? 0 }
        weightCodes.withUnsafeBufferPointer { wq in
            Parallel.pieces(n) { worker, range in
                // The worker's buffers: pieces of its workspace slot (a datapath pass's, as `CrossbarDatapath`'s).
                let b = EngineContext.workspace.pieces(
                    .datapathInputs, worker: worker,
                    bytes: [4 * perImage, perImage, halves * P * K + Self.spare, 4 * halves * P * M,
                            frame.map { $0.perImage + Self.spare } ?? 0, 4 * M, 4 * M])
                let image = b[0].bindMemory(to: Float.self, capacity: perImage)
                let bytes = b[1].bindMemory(to: UInt8.self, capacity: perImage)
                let a = b[2].bindMemory(to: UInt8.self, capacity: halves * P * K + Self.spare)
                let s = b[3].bindMemory(to: Int32.self, capacity: halves * P * M)
                let framed = frame.map { b[4].bindMemory(to: UInt8.self, capacity: $0.perImage + Self.spare) }
                let scale = b[5].bindMemory(to: Float.self, capacity: M)
                let offset = b[6].bindMemory(to: Float.self, capacity: M)
                for i in range {
                    let xi = x.data + i * perImage
                    let (sx, z) = Self.inputGrid(xi, perImage)
                    Self.codes(xi, perImage, step: sx, zero: z, into: image)
                    for t in 0..<perImage { bytes[t] = UInt8(image[t]) }
                    if let frame, let framed {
                        Self.unroll(bytes, frame: frame, framed: framed, rows: K, padding: UInt8(z), into: a)
                    } else {
                        a.update(from: bytes, count: K)  // a linear layer's K codes as they are
                    }
                    if halves == 2 {
                        for t in 0..<(P * K) { (a[P * K + t], a[t]) = (a[t] >> 4, a[t] & 15) }
                    }
                    for h in 0..<halves {
                        IntegerGEMM.multiply(m: P, n: M, k: K, a: a + h * P * K, lda: K, b: wq.baseAddress!, ldb: M,
                                             c: s + h * P * M, ldc: M)
                    }
                    if halves == 2 { for t in 0..<(P * M) { s[t] += 16 * s[P * M + t] } }
                    for c in 0..<M { (scale[c], offset[c]) = (scaleOf[c] * sx, z * sumOf[c]) }
                    Self.digitalStep(s, scale: scale, offset: offset, bias: bias, positions: P, channels: M,
                                     y: y + i * M * P, planar: planar)
                }
            }
        }
    }

    /// y = scale_c·(S − offset_c) + bias_c for the s32 sums S [P, M] of one image: y [M, P] (`planar`) or [P, M]
    /// (channels-last, both walked in memory order).
    static func digitalStep(_ s: UnsafePointer<Int32>, scale: UnsafePointer<Float>, offset: UnsafePointer<Float>,
                            bias: [Float], positions P: Int, channels M: Int, y: UnsafeMutablePointer<Float>,
                            planar: Bool) {
        bias.withUnsafeBufferPointer { bb in
            let bias = bb.baseAddress!
            if planar {
                for c in 0..<M {
                    for p in 0..<P { y[c * P + p] = scale[c] * (Float(s[p * M + c]) - offset[c]) + bias[c] }
                }
                return
            }
            for p in 0..<P {
                let row = s + p * M, out = y + p * M
                for c in 0..<M { out[c] = scale[c] * (Float(row[c]) - offset[c]) + bias[c] }
            }
        }
    }

    /// An image's 8-bit input grid: s_x = (max − min)/255 over its values with the range widened to include 0 (the
    /// padding value), and the zero point z = round(−min/s_x).
    static func inputGrid(_ x: UnsafePointer<Float>, _ count: Int) -> (step: Float, zero: Float) {
        var lo: Float = 0, hi: Float = 0
        for t in 0..<count { lo = Swift.min(lo, x[t]); hi = Swift.max(hi, x[t]) }
        let sx = hi > lo ? (hi - lo) / 255 : 1
        return (sx, (-lo / sx).rounded())
    }

    /// Bytes `unroll` may read past `framed`'s image and write past `a`'s last position (both allocated with them).
    static let spare = 4

    /// a[p·K + k] = the code of unrolled row k (Im2col's order: channel, kernel row, kernel column) at output
    /// position p — `padding` (the code of 0) outside the image. The image is first placed in `framed` (one image
    /// of `frame`) with a border of `padding` codes, so the unroll itself reads without bounds tests.
    static func unroll(_ codes: UnsafePointer<UInt8>, frame: ImageFrame, framed: UnsafeMutablePointer<UInt8>,
                       rows K: Int, padding: UInt8, into a: UnsafeMutablePointer<UInt8>) {
        let g = frame.geo, OW = g.outW, Hp = frame.paddedHeight, Wp = frame.paddedWidth
        framed.update(repeating: padding, count: frame.perImage + spare)
        frame.place(codes, into: framed)
        // A 3-wide kernel row as one 4-byte copy, in order: each writes a byte past its row that the next overwrites,
        // and reads one past its source row (`spare` bytes after the last position and the last framed row).
        let wide = g.kernelW == 3
        for oy in 0..<g.outH {
            for ox in 0..<OW {
                var dst = UnsafeMutableRawPointer(a + (oy * OW + ox) * K)
                for c in 0..<g.channels {
                    var src = UnsafeRawPointer(framed + (c * Hp + oy * g.strideH) * Wp + ox * g.strideW)
                    for _ in 0..<g.kernelH {
                        if wide {
                            dst.storeBytes(of: src.loadUnaligned(as: UInt32.self), as: UInt32.self)
                        } else {
                            dst.copyMemory(from: src, byteCount: g.kernelW)
                        }
                        dst += g.kernelW
                        src += Wp
                    }
                }
            }
        }
    }
}
