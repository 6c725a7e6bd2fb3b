import Foundation
import TensorEngine

/// The ADC transfer function applied to a column's partial sum (in units of one on-cell current):
/// q(s) = clamp(round(s / step), 0, L)·step, L = 2ᵇ − 1, step = max(1, full scale / L). An ADC with at least as
/// many levels as the column has rows resolves every integer sum: it is then lossless for ideal cells.
public struct ADCQuantizer: Sendable, Equatable {
    public let levels: Int
    public let step: Float
    public let fullScale: Float

    public init(bits: Int, rows: Int, range: Double) {
        levels = (1 << bits) - 1
        fullScale = Float(range * Double(rows))
        step = Swift.max(1, fullScale / Float(levels))
    }

    @inline(__always)
    public func callAsFunction(_ s: Float) -> Float {
        let code = Swift.min(Swift.max((s / step).rounded(.toNearestOrEven), 0), Float(levels))
        return code * step
    }

    /// True when every integer partial sum of `rows` cells passes unchanged.
    public func isLossless(rows: Int) -> Bool { step == 1 && Float(levels) >= Float(rows) }
}

/// One layer's weights on the crossbar: a [columns, rows] conductance matrix in units of G_on, where column c < Cout
/// holds the cells of output channel c (on for B = +1, off for B = −1) and the last column is the reference column
/// of on cells. Device effects are applied when the matrix is built: off cells conduct 1/ratio, stuck-at faults
/// force a state, each cell is scaled by exp(σ·z).
public struct CrossbarArray {
    public let rows: Int, columns: Int
    /// [columns, rows] row-major.
    public var conductance: [Float]
    /// No device effect: every entry is exactly 0 or 1.
    public let isIdeal: Bool

    /// - Parameters:
    ///   - on: [Cout, rows], true where B = +1.
    ///   - stream: the RNG stream (one per layer) of the variation and fault draws.
    public init(on: [Bool], outChannels: Int, rows: Int, config c: CIMConfig, stream: UInt64) {
        precondition(on.count == outChannels * rows)
        self.rows = rows
        columns = outChannels + 1
        let ratio = c.effectiveOnOffRatio
        let gOff: Float = ratio.isInfinite ? 0 : Float(1 / ratio)
        let faults = c.stuckAt0 + c.stuckAt1 > 0, sigma = Float(c.variation)
        isIdeal = gOff == 0 && !faults && sigma == 0
        var g = [Float](repeating: 0, count: columns * rows)
        var rng = RNG(seed: c.seed, stream: stream)
        for col in 0..<columns {
            for r in 0..<rows {
                var state = col == outChannels ? true : on[col * rows + r]
                if faults {
                    let u = Double(rng.uniform())
                    if u < c.stuckAt0 { state = false } else if u < c.stuckAt0 + c.stuckAt1 { state = true }
                }
                var v: Float = state ? 1 : gOff
                if sigma > 0 { v *= Foundation.exp(sigma * rng.normal()) }
                g[col * rows + r] = v
            }
        }
        conductance = g
    }

    /// Scratch sizes (floats) for `accumulate` with `positions` input vectors of `bits` bits.
    public func scratchCount(positions: Int, bits: Int) -> Int { (rows + 2 * columns) * bits * positions }

    /// Radix for packing two bit-planes into one GEMM operand (ideal cells only): plane₀ + radix·plane₁ keeps both
    /// integer column sums exact and separable when radix > tile rows and the packed sums stay below 2²²
    /// (docs/cim.md §Speed). nil: no packing.
    func packingRadix(tileRows: Int, bits: Int) -> Float? {
        guard isIdeal, bits >= 2 else { return nil }
        var radix = 1
        while radix <= tileRows { radix <<= 1 }
        return radix * (tileRows + 1) <= 1 << 22 ? Float(radix) : nil
    }

    /// The datapath of one batch of input vectors: for each bit-plane j of the codes, each subarray (a tile of
    /// `tileRows` rows) forms the column sums Σᵢ bitⱼ(codeᵢ)·gᵢ — one GEMM per tile over all bit-planes for the
    /// weight columns, a weighted row sum for the reference column —, the ADC quantizes every sum, and shift-add
    /// recombines: acc[c, p] = Σ_tiles Σⱼ 2ʲ·ADC(sum).
    ///
    /// With ideal cells the sums are integers ≤ tile rows, and two bit-planes share one GEMM operand
    /// (plane₂ₘ + radix·plane₂ₘ₊₁); the two sums are separated exactly before the ADC. Same result, half the GEMM.
    ///
    /// - Parameters:
    ///   - codes: [rows, P] input codes 0…2ᵇⁱᵗˢ − 1 (as Float), one input vector per column.
    ///   - acc: [columns, P] output (overwritten).
    ///   - scratch: `scratchCount(positions:bits:)` floats.
    public func accumulate(codes: UnsafePointer<Float>, positions P: Int, bits: Int, tileRows: Int, adc: ADCQuantizer,
                           into acc: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let radix = packingRadix(tileRows: tileRows, bits: bits)
        let operands = radix == nil ? bits : (bits + 1) / 2
        let gemmWidth = operands * P, width = bits * P, weightColumns = columns - 1
        let planes = scratch, sums = scratch + rows * gemmWidth
        let unpacked = radix == nil ? sums : sums + columns * gemmWidth
        // Bit-planes side by side: planes[r, m·P + p] = bit m of codes[r, p] (or the packed pair).
        for r in 0..<rows { Self.bitPlanes(codes + r * P, P, bits, radix: radix, into: planes + r * gemmWidth) }
        acc.initialize(repeating: 0, count: columns * P)
        let skipADC = isIdeal && adc.isLossless(rows: tileRows)
        conductance.withUnsafeBufferPointer { gb in
            let g = gb.baseAddress!, ref = g + weightColumns * rows, refSums = sums + weightColumns * gemmWidth
            var r0 = 0
            while r0 < rows {
                let rr = Swift.min(tileRows, rows - r0)
                BLAS.sgemm(transA: false, transB: false, m: weightColumns, n: gemmWidth, k: rr, a: g + r0, lda: rows,
                           b: planes + r0 * gemmWidth, ldb: gemmWidth, beta: 0, c: sums, ldc: gemmWidth)
                // The reference column: Σ g_ref·bit over the tile's rows.
                refSums.initialize(repeating: 0, count: gemmWidth)
                for r in r0..<(r0 + rr) { Self.axpy(refSums, ref[r], planes + r * gemmWidth, gemmWidth) }
                if let radix {
                    for c in 0..<columns {
                        Self.unpack(sums + c * gemmWidth, P, bits, radix: radix, into: unpacked + c * width)
                    }
                }
                if !skipADC { adc.quantize(unpacked, count: columns * width) }
                for c in 0..<columns {
                    let s = unpacked + c * width, a = acc + c * P
                    for j in 0..<bits { Self.axpy(a, Float(1 << j), s + j * P, P) }
                }
                r0 += rr
            }
        }
    }
}

extension CrossbarArray {
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
        let operands = radix == nil ? bits : (bits + 1) / 2
        for m in 0..<operands { (dst + m * n).initialize(repeating: 0, count: n) }
        var i = 0
        while i + 16 <= n {
            var v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self)
            for j in stride(from: bits - 1, through: 0, by: -1) {
                let t = SIMD16<Float>(repeating: Float(1 << j))
                let b = zero.replacing(with: one, where: v .>= t)
                v -= b * t
                let (row, weight): (Int, Float) = radix.map { (j / 2, j % 2 == 1 ? $0 : 1) } ?? (j, 1)
                let d = UnsafeMutableRawPointer(dst + row * n + i)
                d.storeBytes(of: d.loadUnaligned(as: SIMD16<Float>.self) + b * weight, as: SIMD16<Float>.self)
            }
            i += 16
        }
        while i < n {
            let v = Int(src[i])
            for j in 0..<bits {
                let b = Float((v >> j) & 1)
                if let radix { dst[(j / 2) * n + i] += j % 2 == 1 ? radix * b : b } else { dst[j * n + i] = b }
            }
            i += 1
        }
    }

    /// Splits packed column sums S = a + radix·b (integers, 0 ≤ a, b < radix) back into planes: row m of `packed`
    /// ([operands, n]) gives rows 2m and 2m + 1 of `dst` ([bits, n]). b = round((S − (radix/2 − ½))/radix) exactly:
    /// the offset puts a's contribution inside (−½, ½).
    static func unpack(_ packed: UnsafePointer<Float>, _ n: Int, _ bits: Int, radix: Float,
                       into dst: UnsafeMutablePointer<Float>) {
        let offset = SIMD16<Float>(repeating: radix / 2 - 0.5), inv = SIMD16<Float>(repeating: 1 / radix)
        let rv = SIMD16<Float>(repeating: radix), magic = SIMD16<Float>(repeating: 12_582_912)
        for m in 0..<((bits + 1) / 2) {
            let src = packed + m * n, lo = dst + 2 * m * n
            let hi: UnsafeMutablePointer<Float>? = 2 * m + 1 < bits ? dst + (2 * m + 1) * n : nil
            guard let hi else { lo.update(from: src, count: n); continue }
            var i = 0
            while i + 16 <= n {
                let s = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self)
                let b = ((s - offset) * inv + magic) - magic
                UnsafeMutableRawPointer(hi + i).storeBytes(of: b, as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(lo + i).storeBytes(of: s - b * rv, as: SIMD16<Float>.self)
                i += 16
            }
            while i < n {
                let b = ((src[i] - (radix / 2 - 0.5)) / radix).rounded(.toNearestOrEven)
                hi[i] = b; lo[i] = src[i] - b * radix
                i += 1
            }
        }
    }
}

extension ADCQuantizer {
    /// Applies the transfer function in place (16 lanes at a time; round-half-even by the 1.5·2²³ trick, exact for
    /// |s/step| < 2²²).
    public func quantize(_ p: UnsafeMutablePointer<Float>, count: Int) {
        let inv = SIMD16<Float>(repeating: 1 / step), st = SIMD16<Float>(repeating: step)
        let magic = SIMD16<Float>(repeating: 12_582_912)
        let zero = SIMD16<Float>(repeating: 0), top = SIMD16<Float>(repeating: Float(levels))
        var i = 0
        // `replace(with:where:)` compiles to vector blends; pointwiseMin/Max stay generic (one call per lane).
        while i + 16 <= count {
            let raw = UnsafeMutableRawPointer(p + i)
            var v = (raw.loadUnaligned(as: SIMD16<Float>.self) * inv + magic) - magic
            v.replace(with: zero, where: v .< zero)
            v.replace(with: top, where: v .> top)
            raw.storeBytes(of: v * st, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { p[i] = self(p[i]); i += 1 }
    }
}
