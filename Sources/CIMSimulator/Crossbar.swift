import Foundation
import TensorEngine

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
    /// The reference column is a digital popcount: exact, not converted.
    public let digitalReference: Bool
    /// Ideal cells as u8 0/1, [columns, rows] (empty otherwise): the operand of the integer bit-plane GEMMs.
    let cells: [UInt8]
    /// Ideal cells run their bit-plane GEMMs as oneDNN's u8 × s8 → s32 GEMM (`accumulateIntegers`) where it is
    /// available; false: the fp32 GEMMs of two packed planes. Both give the same sums, bit for bit.
    public var usesIntegerGEMM: Bool
    /// The int8 route's byte codes run as AND + popcount (`accumulatePopcount`) where the CPU has it; false: the
    /// u8 × s8 GEMMs. Both give the same accumulators, bit for bit.
    public var usesPopcount: Bool
    /// The cells as the popcount kernel's words, made on first use (`cellMasks`).
    let maskMemo = CellMaskMemo()

    /// - Parameters:
    ///   - on: [Cout, rows], true where B = +1.
    ///   - stream: the RNG stream (one per layer) of the variation and fault draws.
    ///   - digitalReference: the reference sums come from a digital popcount (no spare column on the chip): the
    ///     reference column is exact, without device effects or ADC.
    public init(on: [Bool], outChannels: Int, rows: Int, config c: CIMConfig, stream: UInt64,
                digitalReference: Bool = false) {
        precondition(on.count == outChannels * rows)
        self.rows = rows
        columns = outChannels + 1
        let ratio = c.effectiveOnOffRatio
        let gOff: Float = ratio.isInfinite ? 0 : Float(1 / ratio)
        let faults = c.stuckAt0 + c.stuckAt1 > 0, sigma = Float(c.variation)
        isIdeal = c.hasIdealCells
        self.digitalReference = digitalReference
        if isIdeal {
            // No draws: the on cells hold 1, the off cells 0 (an infinite on/off ratio), the reference column 1 —
            // what the loop below gives such a chip, without its per-cell tests.
            var bits = [UInt8](repeating: 0, count: columns * rows)
            for i in 0..<(outChannels * rows) where on[i] { bits[i] = 1 }
            for r in 0..<rows { bits[outChannels * rows + r] = 1 }
            cells = bits
            conductance = bits.map { Float($0) }
            usesIntegerGEMM = IntegerGEMM.isAvailable
            usesPopcount = CrossbarArray.popcountAvailable
            return
        }
        var g = [Float](repeating: 0, count: columns * rows)
        var rng = RNG(seed: c.seed, stream: stream)
        for col in 0..<columns {
            for r in 0..<rows {
                if digitalReference && col == outChannels { g[col * rows + r] = 1; continue }
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
        cells = []
        usesIntegerGEMM = false
        usesPopcount = false
    }

    /// Ideal cells and a lossless ADC with sums below 2²⁴: `accumulate` runs one fp32 GEMM of the codes per row
    /// group (`accumulateExact`).
    func runsExactGEMM(bits: Int, tileRows: Int, adc: ADCQuantizer) -> Bool {
        isIdeal && adc.isLossless(rows: tileRows) && ((1 << bits) - 1) * tileRows < 1 << 24
    }

    /// Whether `accumulate` runs the bit-planes on the int8 units for these settings — then the caller may hand
    /// the codes over as bytes (`accumulate(byteCodes:…)`).
    public func runsIntegerPlanes(bits: Int, tileRows: Int, adc: ADCQuantizer) -> Bool {
        usesIntegerGEMM && !runsExactGEMM(bits: bits, tileRows: tileRows, adc: adc)
    }

    /// Scratch sizes (floats) for `accumulate` with `positions` input vectors of `bits` bits.
    public func scratchCount(positions: Int, bits: Int, tileRows: Int = .max) -> Int {
        let rowsPerGroup = Swift.min(rows, tileRows)
        return Swift.max((rowsPerGroup + columns) * bits * positions,
                         Self.popcountScratchCount(positions: positions, bits: bits, tileRows: rowsPerGroup))
    }

    /// Radix for packing two bit-planes into one GEMM operand (ideal cells only): plane₀ + radix·plane₁ keeps both
    /// integer column sums exact and separable when radix > tile rows and the packed sums stay below 2²²
    /// (docs/cim.md §Speed). nil: no packing.
    func packingRadix(tileRows: Int, bits: Int) -> Float? {
        guard isIdeal, bits >= 2 else { return nil }
        var radix = 1
        while radix < tileRows + 2 { radix <<= 1 }
        return radix * (tileRows + 1) <= 1 << 22 ? Float(radix) : nil
    }

    /// The datapath of one batch of input vectors: for each bit-plane j of the codes, each subarray (a tile of
    /// `tileRows` rows) forms the column sums Σᵢ bitⱼ(codeᵢ)·gᵢ — one GEMM per tile over all bit-planes for the
    /// weight columns, a weighted row sum for the reference column —, the ADC turns every sum into its code, and the
    /// digital shift-add recombines the codes: acc[c, p] = step·Σ_tiles Σⱼ 2ʲ·code(sum) — integers added exactly,
    /// then one multiply (`scaleCodes`), so any order of the additions gives the same bits.
    ///
    /// With ideal cells the sums are integers ≤ tile rows, and two bit-planes share one GEMM operand
    /// (plane₂ₘ + radix·plane₂ₘ₊₁); the two sums are separated exactly before the ADC. Same result, half the GEMM.
    ///
    /// - Parameters:
    ///   - codes: [rows, P] input codes 0…2ᵇⁱᵗˢ − 1 (as Float), one input vector per column.
    ///   - acc: [columns, P] output (overwritten).
    ///   - scratch: `scratchCount(positions:bits:tileRows:)` floats.
    public func accumulate(codes: UnsafePointer<Float>, positions P: Int, bits: Int, tileRows: Int, adc: ADCQuantizer,
                           into acc: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let groups = stride(from: 0, to: rows, by: tileRows).map { Swift.min(tileRows, rows - $0) }
        accumulate(codes: codes, positions: P, bits: bits, groups: groups, adc: adc, into: acc, scratch: scratch)
    }

    /// As above with row groups of the given sizes (consecutive rows, Σ = rows): each group is one subarray's rows
    /// (the kernel-split mapping's Cin channels of one kernel position, `LayerMapping.rowGroups`).
    public func accumulate(codes: UnsafePointer<Float>, positions P: Int, bits: Int, groups: [Int], adc: ADCQuantizer,
                           into acc: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        precondition(groups.reduce(0, +) == rows && groups.allSatisfy { $0 > 0 }, "row groups must cover the rows")
        let tileRows = groups.max() ?? 1
        let radix = packingRadix(tileRows: tileRows, bits: bits)
        let operands = radix == nil ? bits : (bits + 1) / 2
        let gemmWidth = operands * P, weightColumns = columns - 1
        // One tile's bit-planes at a time (they stay in cache for the GEMM).
        let planes = scratch, sums = scratch + Swift.min(rows, tileRows) * gemmWidth
        acc.initialize(repeating: 0, count: columns * P)
        let skipADC = isIdeal && adc.isLossless(rows: tileRows)
        if runsExactGEMM(bits: bits, tileRows: tileRows, adc: adc) {
            accumulateExact(codes: codes, positions: P, groups: groups, into: acc)
            return
        }
        if usesIntegerGEMM {
            accumulateIntegers(positions: P, bits: bits, groups: groups, adc: skipADC ? nil : adc, into: acc,
                               scratch: scratch) { r, planes in Self.bitPlanes(codes + r * P, P, bits, into: planes) }
            return
        }
        conductance.withUnsafeBufferPointer { gb in
            let g = gb.baseAddress!, ref = g + weightColumns * rows, refSums = sums + weightColumns * gemmWidth
            var r0 = 0
            for rr in groups {
                // Bit-planes side by side: planes[r, m·P + p] = bit m of codes[r0 + r, p] (or the packed pair).
                for r in 0..<rr {
                    Self.bitPlanes(codes + (r0 + r) * P, P, bits, radix: radix, into: planes + r * gemmWidth)
                }
                BLAS.sgemm(transA: false, transB: false, m: weightColumns, n: gemmWidth, k: rr, a: g + r0, lda: rows,
                           b: planes, ldb: gemmWidth, beta: 0, c: sums, ldc: gemmWidth)
                // The reference column: Σ g_ref·bit over the tile's rows.
                refSums.initialize(repeating: 0, count: gemmWidth)
                for r in 0..<rr { Self.axpy(refSums, ref[r0 + r], planes + r * gemmWidth, gemmWidth) }
                for c in 0..<columns {
                    Self.convertAndShiftAdd(sums + c * gemmWidth, operands: operands, P, bits, radix: radix,
                                            adc: skipADC || (digitalReference && c == weightColumns) ? nil : adc,
                                            into: acc + c * P)
                }
                r0 += rr
            }
        }
        scaleCodes(acc, positions: P, adc: skipADC ? nil : adc)
    }

    /// After the last row group: the weight columns' integer Σ 2ʲ·code times the ADC's step (once: every addition
    /// before it is exact); the reference column too unless it is a digital popcount. `adc` nil: lossless, step 1.
    func scaleCodes(_ acc: UnsafeMutablePointer<Float>, positions P: Int, adc: ADCQuantizer?) {
        guard let adc, adc.step != 1 else { return }
        let step = SIMD16<Float>(repeating: adc.step)
        for c in 0..<(digitalReference ? columns - 1 : columns) {
            let a = acc + c * P
            var i = 0
            while i + 16 <= P {
                let ar = UnsafeMutableRawPointer(a + i)
                ar.storeBytes(of: ar.loadUnaligned(as: SIMD16<Float>.self) * step, as: SIMD16<Float>.self)
                i += 16
            }
            while i < P { a[i] *= adc.step; i += 1 }
        }
    }
}
