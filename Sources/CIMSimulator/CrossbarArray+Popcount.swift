import CCrossbar
import Foundation
import TensorEngine

/// The int8 route's bit-serial datapath as AND + popcount (`bwma_popcount_group`, AVX-512 VPOPCNTDQ): ideal cells
/// are bits, so a row group's partial sum for one column, bit-plane and position is popcount(cells ∧ plane) over
/// 32-row words — 16 positions per instruction where the u8 × s8 GEMM did 64 multiply-adds, with no s32 sum matrix
/// in memory and no per-call packing of the plane operand; the ADC and the shift-add of the codes run on the sums in
/// registers (where the CPU has AVX512-VBMI and VNNI, four planes' sums packed in bytes: one table lookup for their
/// codes, one byte dot product for Σⱼ 2ʲ·codeⱼ), the accumulators hold the integers until the last group, and one
/// multiply by the step ends it — the GEMM route's accumulators bit for bit
/// (`CrossbarIntegerGEMMTests.testPopcountRouteIsTheGEMMRouteBitForBit`).
extension CrossbarArray {
    /// Whether this CPU runs the AND + popcount kernel.
    public static let popcountAvailable = bwma_popcount_available() != 0

    /// The scratch (in 4-byte words) `accumulatePopcount` needs for `positions` input vectors.
    static func popcountScratchCount(positions: Int, bits: Int, tileRows: Int) -> Int {
        bits * ((tileRows + 31) / 32) * ((positions + 15) / 16 * 16)
    }

    /// Whether this CPU reads the codes where they lie in padded images (`accumulatePopcount(imageRows:…)`).
    public static let imageRowsAvailable = bwma_image_rows_available() != 0

    /// The kernels an ideal chip's bit-serial datapath runs here, for benchmark reports: where oneDNN's int8 GEMM
    /// runs (the byte route), AND + popcount (with the packed shift-add and the GFNI bit transposes where the CPU has
    /// them) or else those u8 × s8 GEMMs; without it fp32 SGEMMs of two packed planes. (Chips with device effects
    /// always run fp32 SGEMMs.)
    public static var idealCellKernels: String {
        guard IntegerGEMM.isAvailable else { return "fp32 SGEMM" }
        guard popcountAvailable else { return "u8s8 GEMM" }
        return "AND+popcount" + (bwma_popcount_packs() != 0 ? ", packed shift-add" : "")
            + (imageRowsAvailable ? ", GFNI transposes" : "")
    }

    /// `accumulateIntegers` on the byte codes ([rows, P], the array's row order) by AND + popcount; requires
    /// `popcountAvailable` and `cells` (ideal cells).
    func accumulatePopcount(byteCodes codes: UnsafePointer<UInt8>, positions P: Int, bits: Int, groups: [Int],
                            adc: ADCQuantizer?, into acc: UnsafeMutablePointer<Float>,
                            scratch: UnsafeMutableRawPointer) {
        precondition(bits <= 8)
        eachPopcountGroup(positions: P, groups: groups, adc: adc, into: acc) { r0, rr, cells, lanes, reference in
            bwma_popcount_group(codes + r0 * P, Int32(rr), P, P, Int32(bits), cells, Int32(columns), lanes, reference,
                                acc, P, scratch.assumingMemoryBound(to: UInt32.self))
        }
    }

    /// The same with the codes read from padded channel-plane images instead of unrolled rows (`src`: its
    /// `row_offset` has the array's rows in order; docs of `bwma_image_rows`): the same sums and accumulators bit for
    /// bit, without the 9x unrolled copy. Requires `imageRowsAvailable` and the geometry of `bwma_image_rows`.
    func accumulatePopcount(imageRows src: bwma_image_rows, positions P: Int, bits: Int, groups: [Int],
                            adc: ADCQuantizer?, into acc: UnsafeMutablePointer<Float>,
                            scratch: UnsafeMutableRawPointer) {
        precondition(Self.imageRowsAvailable && bits <= 8)
        eachPopcountGroup(positions: P, groups: groups, adc: adc, into: acc) { r0, rr, cells, lanes, reference in
            var group = src
            group.row_offset = src.row_offset + r0
            bwma_popcount_group_image(&group, Int32(rr), P, Int32(bits), cells, Int32(columns), lanes, reference,
                                      acc, P, scratch.assumingMemoryBound(to: UInt32.self))
        }
    }

    /// Zeroes the accumulators, runs `group(r0, rows, cells, adc, exact reference column)` for each row group with its
    /// cell masks, and turns the integers into the datapath's values (`bwma_popcount_finish`).
    private func eachPopcountGroup(positions P: Int, groups: [Int], adc: ADCQuantizer?,
                                   into acc: UnsafeMutablePointer<Float>,
                                   _ group: (Int, Int, UnsafePointer<UInt32>, bwma_adc, Int32) -> Void) {
        precondition(Self.popcountAvailable && !cells.isEmpty)
        acc.initialize(repeating: 0, count: columns * P)
        let lanes = bwma_adc(inverse_step: adc?.inverseStep ?? 1, step: adc?.step ?? 1, top: Float(adc?.levels ?? 0),
                             passes_through: adc == nil ? 1 : 0)
        let masks = cellMasks(groups: groups)
        masks.withUnsafeBufferPointer { mb in
            var r0 = 0, m = mb.baseAddress!
            for rr in groups {
                group(r0, rr, m, lanes, digitalReference ? 1 : 0)
                r0 += rr
                m += columns * ((rr + 31) / 32)
            }
        }
        bwma_popcount_finish(acc, P, P, Int32(columns), lanes, digitalReference ? 1 : 0)
    }

    /// Every row group's cells as words: group g's block is [columns, words_g], bit b of word w of column c = the
    /// cell of the group's row 32w + b (0/1). Made once per array and grouping (a pass asks once per group of
    /// images).
    func cellMasks(groups: [Int]) -> [UInt32] { maskMemo.masks(groups) { makeCellMasks(groups: groups) } }

    private func makeCellMasks(groups: [Int]) -> [UInt32] {
        var masks = [UInt32](repeating: 0, count: groups.reduce(0) { $0 + columns * (($1 + 31) / 32) })
        masks.withUnsafeMutableBufferPointer { m in
            cells.withUnsafeBufferPointer { cb in
                var r0 = 0, block = m.baseAddress!
                for rr in groups {
                    let words = (rr + 31) / 32
                    for c in 0..<columns {
                        let src = cb.baseAddress! + c * rows + r0, dst = block + c * words
                        for r in 0..<rr { dst[r >> 5] |= UInt32(src[r]) << UInt32(r & 31) }
                    }
                    r0 += rr
                    block += columns * words
                }
            }
        }
        return masks
    }
}

/// The cell masks of the last row grouping asked of an array (`cellMasks`), shared by its copies — the cells never
/// change — and by the workers of a pass.
final class CellMaskMemo: @unchecked Sendable {
    private let lock = NSLock()
    private var groups: [Int] = [], masks: [UInt32]?

    func masks(_ groups: [Int], make: () -> [UInt32]) -> [UInt32] {
        lock.lock(); defer { lock.unlock() }
        if let masks, groups == self.groups { return masks }
        let made = make()
        self.groups = groups
        masks = made
        return made
    }
}
