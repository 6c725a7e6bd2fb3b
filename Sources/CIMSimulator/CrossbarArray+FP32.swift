import TensorEngine

/// The fp32 path's kernels of `CrossbarArray.accumulate(codes:…)`: the one GEMM of the codes for ideal cells and a
/// lossless ADC, the Float bit-planes (packed in pairs for ideal cells), and each column's sums through the ADC into
/// the shift-add of the codes.
extension CrossbarArray {
    /// Ideal cells and a lossless ADC: every bit-plane sum passes the ADC unchanged, so the shift-add of the planes'
    /// sums, Σⱼ 2ʲ·Σᵢ bitⱼ(qᵢ)·gᵢ, is Σᵢ qᵢ·gᵢ — one GEMM of the codes per row group instead of one per bit-plane.
    /// Every partial sum is an integer below 2²⁴ (the caller checks (2ᵇ − 1)·rows), so Float holds it exactly and
    /// the result equals the bit-serial path's bit for bit.
    func accumulateExact(codes: UnsafePointer<Float>, positions P: Int, groups: [Int],
                         into acc: UnsafeMutablePointer<Float>) {
        let weightColumns = columns - 1
        conductance.withUnsafeBufferPointer { gb in
            let g = gb.baseAddress!, ref = g + weightColumns * rows, refAcc = acc + weightColumns * P
            var r0 = 0
            for rr in groups {
                BLAS.sgemm(transA: false, transB: false, m: weightColumns, n: P, k: rr, a: g + r0, lda: rows,
                           b: codes + r0 * P, ldb: P, beta: 1, c: acc, ldc: P)
                for r in r0..<(r0 + rr) { Self.axpy(refAcc, ref[r], codes + r * P, P) }
                r0 += rr
            }
        }
    }

    /// y[0..<n] += a·x[0..<n] (16 lanes).
    @inline(__always)
    static func axpy(_ y: UnsafeMutablePointer<Float>, _ a: Float, _ x: UnsafePointer<Float>, _ n: Int) {
        let av = SIMD16<Float>(repeating: a)
        var i = 0
        while i + 16 <= n {
            let yr = UnsafeMutableRawPointer(y + i)
            let v = yr.loadUnaligned(as: SIMD16<Float>.self) + av * UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            yr.storeBytes(of: v, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { y[i] += a * x[i]; i += 1 }
    }

    /// dst[j·n + p] = bit j of the integer code src[p] (0 or 1 as Float), j < bits: subtracting 2ʲ where it fits,
    /// from the top bit down, in 16 lanes. With a radix, bits 2m and 2m + 1 share row m: b₂ₘ + radix·b₂ₘ₊₁.
    static func bitPlanes(_ src: UnsafePointer<Float>, _ n: Int, _ bits: Int, radix: Float?,
                          into dst: UnsafeMutablePointer<Float>) {
        let zero = SIMD16<Float>(repeating: 0), one = SIMD16<Float>(repeating: 1)
        let packed = radix != nil, r = SIMD16<Float>(repeating: radix ?? 1)
        var i = 0
        while i + 16 <= n {
            var v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self)
            var high = zero  // the pending odd bit of a packed pair, times the radix
            var j = bits - 1
            while j >= 0 {
                let t = SIMD16<Float>(repeating: Float(1 << j))
                let b = zero.replacing(with: one, where: v .>= t)
                v -= b * t
                if !packed {
                    UnsafeMutableRawPointer(dst + j * n + i).storeBytes(of: b, as: SIMD16<Float>.self)
                } else if j & 1 == 1 {
                    high = b * r
                } else {
                    UnsafeMutableRawPointer(dst + (j >> 1) * n + i).storeBytes(of: b + high, as: SIMD16<Float>.self)
                    high = zero
                }
                j -= 1
            }
            i += 16
        }
        while i < n {
            let v = Int(src[i])
            if let radix {
                for m in 0..<((bits + 1) / 2) {
                    let hi: Float = 2 * m + 1 < bits ? Float((v >> (2 * m + 1)) & 1) : 0
                    dst[m * n + i] = Float((v >> (2 * m)) & 1) + radix * hi
                }
            } else {
                for j in 0..<bits { dst[j * n + i] = Float((v >> j) & 1) }
            }
            i += 1
        }
    }

    /// One column's sums of one tile → ADC → shift-add of the codes into `acc` ([n]): for unpacked operands
    /// acc += 2ʲ·code(Sⱼ); for packed ones S = a + radix·b is first split exactly —
    /// b = round((S − (radix/2 − 1))/radix), a = S − radix·b (a ≤ radix − 2 keeps the offset sum inside (−½, ½)) —
    /// and acc += 2²ᵐ·code(a) + 2²ᵐ⁺¹·code(b).
    /// `adc` nil: lossless, the sums themselves. One pass over the sums, 16 lanes.
    static func convertAndShiftAdd(_ sums: UnsafePointer<Float>, operands: Int, _ n: Int, _ bits: Int, radix: Float?,
                                   adc: ADCQuantizer?, into acc: UnsafeMutablePointer<Float>) {
        let magic = SIMD16<Float>(repeating: 12_582_912), lanes = ADCLanes(adc)
        let rv = SIMD16<Float>(repeating: radix ?? 1), rinv = SIMD16<Float>(repeating: 1 / (radix ?? 1))
        let offset = SIMD16<Float>(repeating: (radix ?? 2) / 2 - 1)
        for m in 0..<operands {
            let src = sums + m * n
            let paired = radix != nil && 2 * m + 1 < bits
            let wLo = SIMD16<Float>(repeating: Float(1 << (radix == nil ? m : 2 * m)))
            let wHi = wLo + wLo
            var i = 0
            while i + 16 <= n {
                let s = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self)
                let ar = UnsafeMutableRawPointer(acc + i)
                var a = ar.loadUnaligned(as: SIMD16<Float>.self)
                if paired {
                    let b = ((s - offset) * rinv + magic) - magic
                    let lo = s - b * rv
                    a += wLo * lanes.code(lo)
                    a += wHi * lanes.code(b)
                } else {
                    a += wLo * lanes.code(s)
                }
                ar.storeBytes(of: a, as: SIMD16<Float>.self)
                i += 16
            }
            while i < n {
                let s = src[i]
                func q(_ v: Float) -> Float { adc?.code(v) ?? v }
                if paired, let radix {
                    let b = ((s - (radix / 2 - 1)) / radix).rounded(.toNearestOrEven)
                    acc[i] += wLo[0] * q(s - b * radix)
                    acc[i] += wHi[0] * q(b)
                } else {
                    acc[i] += wLo[0] * q(s)
                }
                i += 1
            }
        }
    }
}
