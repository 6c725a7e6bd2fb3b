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
    public func scratchCount(positions: Int, bits: Int) -> Int { rows * bits * positions + columns * bits * positions }

    /// The datapath of one batch of input vectors: for each bit-plane j of the codes, each subarray (a tile of
    /// `tileRows` rows) forms the column sums Σᵢ bitⱼ(codeᵢ)·gᵢ — one GEMM per tile over all bit-planes —, the ADC
    /// quantizes every sum, and shift-add recombines: acc[c, p] = Σ_tiles Σⱼ 2ʲ·ADC(sum).
    ///
    /// - Parameters:
    ///   - codes: [rows, P] input codes 0…2ᵇⁱᵗˢ − 1 (as Float), one input vector per column.
    ///   - acc: [columns, P] output (overwritten).
    ///   - scratch: `scratchCount(positions:bits:)` floats.
    public func accumulate(codes: UnsafePointer<Float>, positions P: Int, bits: Int, tileRows: Int, adc: ADCQuantizer,
                           into acc: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let width = bits * P
        let planes = scratch, sums = scratch + rows * width
        // Bit-planes side by side: planes[r, j·P + p] = bit j of codes[r, p].
        for r in 0..<rows {
            let src = codes + r * P, dst = planes + r * width
            for p in 0..<P {
                let v = Int(src[p])
                for j in 0..<bits { dst[j * P + p] = Float((v >> j) & 1) }
            }
        }
        acc.initialize(repeating: 0, count: columns * P)
        let skipADC = isIdeal && adc.isLossless(rows: tileRows)
        conductance.withUnsafeBufferPointer { g in
            var r0 = 0
            while r0 < rows {
                let rr = Swift.min(tileRows, rows - r0)
                BLAS.sgemm(transA: false, transB: false, m: columns, n: width, k: rr, a: g.baseAddress! + r0, lda: rows,
                           b: planes + r0 * width, ldb: width, beta: 0, c: sums, ldc: width)
                if !skipADC { for i in 0..<(columns * width) { sums[i] = adc(sums[i]) } }
                for c in 0..<columns {
                    let s = sums + c * width, a = acc + c * P
                    for j in 0..<bits {
                        let w = Float(1 << j), sj = s + j * P
                        for p in 0..<P { a[p] += w * sj[p] }
                    }
                }
                r0 += rr
            }
        }
    }
}
