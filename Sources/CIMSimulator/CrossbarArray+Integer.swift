import CCrossbar
import TensorEngine

extension CrossbarArray {
    /// The codes as bytes ([rows, P], the rows in the array's order; `runsIntegerPlanes` must hold): the same
    /// accumulation without Float codes in between (`CrossbarDatapath.orderedColumns` writes them).
    public func accumulate(byteCodes codes: UnsafePointer<UInt8>, positions P: Int, bits: Int, groups: [Int],
                           adc: ADCQuantizer, into acc: UnsafeMutablePointer<Float>,
                           scratch: UnsafeMutablePointer<Float>) {
        let tileRows = groups.max() ?? 1
        precondition(groups.reduce(0, +) == rows && runsIntegerPlanes(bits: bits, tileRows: tileRows, adc: adc))
        if usesPopcount && bits <= 8 {
            return accumulatePopcount(byteCodes: codes, positions: P, bits: bits, groups: groups,
                                      adc: adc.isLossless(rows: tileRows) ? nil : adc, into: acc,
                                      scratch: UnsafeMutableRawPointer(scratch))
        }
        accumulateIntegers(positions: P, bits: bits, groups: groups,
                           adc: adc.isLossless(rows: tileRows) ? nil : adc, into: acc, scratch: scratch) { r, planes in
            Self.bitPlanes(codes + r * P, P, bits, into: planes)
        }
    }

    /// As `accumulate(byteCodes:…)` with the codes read where they lie in padded images (`src`, its rows in the
    /// array's order; `CrossbarDatapath.Pass.readsImageRows` must hold): the popcount kernel's gathers instead of an
    /// unrolled copy — the same accumulators.
    func accumulate(imageRows src: bwma_image_rows, positions P: Int, bits: Int, groups: [Int], adc: ADCQuantizer,
                    into acc: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let tileRows = groups.max() ?? 1
        precondition(groups.reduce(0, +) == rows && runsIntegerPlanes(bits: bits, tileRows: tileRows, adc: adc))
        accumulatePopcount(imageRows: src, positions: P, bits: bits, groups: groups,
                           adc: adc.isLossless(rows: tileRows) ? nil : adc, into: acc,
                           scratch: UnsafeMutableRawPointer(scratch))
    }

    /// The bit-serial datapath of ideal cells on the int8 units: per row group, the 0/1 bit-planes of the codes
    /// (s8, [rows, bits·P]) times the 0/1 cells (u8, [columns, rows], the reference column included) in one
    /// u8 × s8 → s32 GEMM — exact integers, as the fp32 path's sums are —, then each sum through the ADC and the
    /// shift-add of the codes, and the one multiply by the step: the accumulators equal the fp32 path's bit for bit
    /// (CrossbarIntegerGEMMTests). Four planes run at the int8 rate instead of two packed planes at the fp32 rate.
    ///
    /// - Parameters:
    ///   - adc: nil where every sum passes unchanged (lossless ADC).
    ///   - scratch: `scratchCount(positions:bits:tileRows:)` floats, reused as s32 sums then s8 planes.
    ///   - rowPlanes: writes row r's bit-planes (s8 0/1, [bits, P]).
    func accumulateIntegers(positions P: Int, bits: Int, groups: [Int], adc: ADCQuantizer?,
                            into acc: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                            rowPlanes: (Int, UnsafeMutablePointer<Int8>) -> Void) {
        let width = bits * P, tileRows = groups.max() ?? 1, weightColumns = columns - 1
        let floats = scratchCount(positions: P, bits: bits, tileRows: tileRows)
        let raw = UnsafeMutableRawPointer(scratch)
        let sums = raw.bindMemory(to: Int32.self, capacity: columns * width)
        let planes = (raw + columns * width * 4).bindMemory(to: Int8.self, capacity: tileRows * width)
        defer { raw.bindMemory(to: Float.self, capacity: floats) }
        acc.initialize(repeating: 0, count: columns * P)
        cells.withUnsafeBufferPointer { cb in
            var r0 = 0
            for rr in groups {
                for r in 0..<rr { rowPlanes(r0 + r, planes + r * width) }
                IntegerGEMM.multiply(m: columns, n: width, k: rr, a: cb.baseAddress! + r0, lda: rows, b: planes,
                                     ldb: width, c: sums, ldc: width)
                for c in 0..<columns {
                    Self.convertAndShiftAdd(sums + c * width, P, bits,
                                            adc: digitalReference && c == weightColumns ? nil : adc,
                                            into: acc + c * P)
                }
                r0 += rr
            }
        }
        scaleCodes(acc, positions: P, adc: adc)
    }

    /// dst[j·n + p] = bit j of the byte code src[p], j < bits; 32 bytes at a time, shifted as 32-bit lanes (x86 has
    /// no byte shift: a byte-lane shift by j compiled to one scalar shift per byte) and masked to bit 0 of each byte.
    static func bitPlanes(_ src: UnsafePointer<UInt8>, _ n: Int, _ bits: Int, into dst: UnsafeMutablePointer<Int8>) {
        let ones = SIMD8<UInt32>(repeating: 0x0101_0101)
        var i = 0
        while i + 32 <= n {
            let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<UInt32>.self)
            for j in 0..<bits {
                UnsafeMutableRawPointer(dst + j * n + i).storeBytes(of: (v &>> UInt32(j)) & ones,
                                                                     as: SIMD8<UInt32>.self)
            }
            i += 32
        }
        while i < n {
            for j in 0..<bits { dst[j * n + i] = Int8((src[i] >> j) & 1) }
            i += 1
        }
    }

    /// dst[j·n + p] = bit j of the integer code src[p] ≤ 255 (a Float; as s8 0/1), j < bits; 16 lanes.
    static func bitPlanes(_ src: UnsafePointer<Float>, _ n: Int, _ bits: Int, into dst: UnsafeMutablePointer<Int8>) {
        // A code c ≤ 255 plus 2²³ is the Float whose low mantissa bits are c: the integer without a conversion.
        let magic = SIMD16<Float>(repeating: 8_388_608), one = SIMD16<UInt8>(repeating: 1)
        var i = 0
        while i + 16 <= n {
            let f = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self) + magic
            let v = lowBytes(unsafeBitCast(f, to: SIMD16<UInt32>.self))
            for j in 0..<bits {
                let b = unsafeBitCast((v &>> UInt8(j)) & one, to: SIMD16<Int8>.self)
                UnsafeMutableRawPointer(dst + j * n + i).storeBytes(of: b, as: SIMD16<Int8>.self)
            }
            i += 16
        }
        while i < n {
            let v = Int(src[i])
            for j in 0..<bits { dst[j * n + i] = Int8((v >> j) & 1) }
            i += 1
        }
    }

    /// The low byte of each lane. Not inlined: inside the plane loop the vectorizer narrowed lane by lane
    /// (`vpinsrb`); on its own this is three byte shuffles.
    @inline(never)
    static func lowBytes(_ v: SIMD16<UInt32>) -> SIMD16<UInt8> { SIMD16<UInt8>(truncatingIfNeeded: v) }

    /// One column's s32 sums of one group ([bits, n], each in 0..<2²³) → ADC → shift-add of the codes:
    /// acc += Σⱼ 2ʲ·code(Sⱼ) (exact integers); `adc` nil: lossless, acc += Σⱼ 2ʲ·Sⱼ. 16 lanes, the accumulators kept in
    /// registers across the planes.
    static func convertAndShiftAdd(_ sums: UnsafePointer<Int32>, _ n: Int, _ bits: Int, adc: ADCQuantizer?,
                                   into acc: UnsafeMutablePointer<Float>) {
        let lanes = ADCLanes(adc)
        // s < 2²³ as a Float without a conversion: the bits of 2²³ + s, minus 2²³.
        let exponent = SIMD16<UInt32>(repeating: 0x4B00_0000), two23 = SIMD16<Float>(repeating: 8_388_608)
        var i = 0
        while i + 16 <= n {
            let ar = UnsafeMutableRawPointer(acc + i)
            var a = ar.loadUnaligned(as: SIMD16<Float>.self)
            for j in 0..<bits {
                let s = UnsafeRawPointer(sums + j * n + i).loadUnaligned(as: SIMD16<UInt32>.self)
                let v = unsafeBitCast(s | exponent, to: SIMD16<Float>.self) - two23
                a += SIMD16<Float>(repeating: Float(1 << j)) * lanes.code(v)
            }
            ar.storeBytes(of: a, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n {
            for j in 0..<bits {
                let s = Float(sums[j * n + i])
                acc[i] += Float(1 << j) * (adc?.code(s) ?? s)
            }
            i += 1
        }
    }
}
