import CCrossbar
import CIMSimulator
import Foundation
import Models
import TensorEngine
import XCTest

/// The int8 bit-plane GEMMs of ideal cells (`CrossbarArray.usesIntegerGEMM`) against the fp32 packed-plane GEMMs and
/// the scalar reference: the sums are integers either way, so the accumulators must agree bit for bit.
final class CrossbarIntegerGEMMTests: XCTestCase {
    func accumulate(_ a: CrossbarArray, codes: [Float], P: Int, bits: Int, groups: [Int], adc: ADCQuantizer)
        -> [Float] {
        var acc = [Float](repeating: .nan, count: a.columns * P)
        var scratch = [Float](repeating: .nan, count: a.scratchCount(positions: P, bits: bits,
                                                                     tileRows: groups.max()!))
        a.accumulate(codes: codes, positions: P, bits: bits, groups: groups, adc: adc, into: &acc, scratch: &scratch)
        return acc
    }

    /// Ideal cells, each on with probability ½, on a chip with a `adcBits`-bit ADC.
    func randomArray(rows: Int, outChannels out: Int, adcBits: Int, digital: Bool, stream: UInt64,
                     rng: inout RNG) -> CrossbarArray {
        var c = CIMConfig()
        c.adcBits = adcBits
        let on = (0..<(rows * out)).map { _ in rng.uniform() < 0.5 }
        return CrossbarArray(on: on, outChannels: out, rows: rows, config: c, stream: stream, digitalReference: digital)
    }

    /// The byte entry (the convolution's route) of the same accumulation.
    func accumulate(_ a: CrossbarArray, byteCodes codes: [UInt8], P: Int, bits: Int, groups: [Int],
                    adc: ADCQuantizer) -> [Float] {
        var acc = [Float](repeating: .nan, count: a.columns * P)
        var scratch = [Float](repeating: .nan, count: a.scratchCount(positions: P, bits: bits,
                                                                     tileRows: groups.max()!))
        a.accumulate(byteCodes: codes, positions: P, bits: bits, groups: groups, adc: adc, into: &acc,
                     scratch: &scratch)
        return acc
    }

    func testIntegerGEMMEqualsTheFP32PathForEveryWidthADCAndGrouping() throws {
        try XCTSkipUnless(IntegerGEMM.isAvailable, "oneDNN's int8 GEMM runs only with AVX-512 (ISA \(DNNL.isaName))")
        var rng = RNG(seed: 41)
        // (rows, groups, outputs, positions): kernel-split groups of a 3x3 convolution with Cin = 16, conventional
        // 128-row tiles with a partial last one, and positions off the 16 lanes.
        let shapes: [(Int, [Int], Int, Int)] = [(144, Array(repeating: 16, count: 9), 16, 203),
                                                (300, [128, 128, 44], 7, 37), (64, [64], 33, 16)]
        for (rows, groups, out, P) in shapes {
            for bits in [1, 2, 3, 4, 5, 8] {
                for (adcBits, digital) in [(3, false), (5, true), (8, false)] {
                    var a = randomArray(rows: rows, outChannels: out, adcBits: adcBits, digital: digital,
                                        stream: 3, rng: &rng)
                    XCTAssertTrue(a.usesIntegerGEMM, "ideal cells take the int8 GEMMs")
                    let codes = (0..<(rows * P)).map { _ in Float(rng.below(1 << bits)) }
                    let adc = ADCQuantizer(bits: adcBits, rows: groups.max()!, range: 0.5)
                    let integer = accumulate(a, codes: codes, P: P, bits: bits, groups: groups, adc: adc)
                    if a.runsIntegerPlanes(bits: bits, tileRows: groups.max()!, adc: adc) {
                        let acc = accumulate(a, byteCodes: codes.map { UInt8($0) }, P: P, bits: bits,
                                             groups: groups, adc: adc)
                        XCTAssertEqual(acc, integer, "byte codes, rows \(rows), k = \(bits), \(adcBits)-bit ADC")
                    }
                    a.usesIntegerGEMM = false
                    let fp32 = accumulate(a, codes: codes, P: P, bits: bits, groups: groups, adc: adc)
                    XCTAssertEqual(integer, fp32, "rows \(rows), k = \(bits), \(adcBits)-bit ADC, digital \(digital)")
                    XCTAssertFalse(integer.contains { $0.isNaN })
                }
            }
        }
    }

    /// The byte route as AND + popcount (`usesPopcount`) against the same route on the u8 × s8 GEMMs: every
    /// accumulator the same bits — groups of 16 to 256 rows (1 to 8 mask words, partial last words), every code
    /// width, lossy and lossless ADCs, the digital reference, positions off the 16 lanes.
    func testPopcountRouteIsTheGEMMRouteBitForBit() throws {
        try XCTSkipUnless(IntegerGEMM.isAvailable, "oneDNN's int8 GEMM runs only with AVX-512 (ISA \(DNNL.isaName))")
        try XCTSkipUnless(CrossbarArray.popcountAvailable, "this CPU has no AVX-512 VPOPCNTDQ")
        var rng = RNG(seed: 47)
        let shapes: [(Int, [Int], Int, Int)] = [(144, Array(repeating: 16, count: 9), 16, 203),
                                                (300, [128, 128, 44], 7, 37), (456, [200, 256], 5, 50),
                                                (64, [64], 33, 16), (33, [33], 3, 1)]
        var compared = 0
        for (rows, groups, out, P) in shapes {
            for bits in [1, 2, 4, 5, 8] {
                for (adcBits, digital) in [(3, false), (5, true), (5, false), (9, false)] {
                    var a = randomArray(rows: rows, outChannels: out, adcBits: adcBits, digital: digital,
                                        stream: 5, rng: &rng)
                    XCTAssertTrue(a.usesPopcount, "ideal cells on this CPU take the popcount kernel")
                    let adc = ADCQuantizer(bits: adcBits, rows: groups.max()!, range: 0.5)
                    guard a.runsIntegerPlanes(bits: bits, tileRows: groups.max()!, adc: adc) else { continue }
                    let codes = (0..<(rows * P)).map { _ in UInt8(rng.below(1 << bits)) }
                    func run() -> [UInt32] {
                        accumulate(a, byteCodes: codes, P: P, bits: bits, groups: groups, adc: adc).map(\.bitPattern)
                    }
                    let popcount = run()
                    a.usesPopcount = false
                    XCTAssertEqual(popcount, run(), "rows \(rows), k = \(bits), \(adcBits)-bit ADC, digital \(digital)")
                    XCTAssertFalse(popcount.contains { Float(bitPattern: $0).isNaN })
                    compared += 1
                }
            }
        }
        XCTAssertGreaterThan(compared, 60)
    }

    /// The popcount kernel's ADC over every sum a group can give (0 … 128 rows): sums at each end — a column of
    /// cells all on, positions whose codes are all at the top, so a 128-row group sums to exactly 128 — and every
    /// density in between, against the GEMM route bit for bit, for 32- to 128-row groups and ADCs from 3 to 9 bits
    /// at several full scales, over more positions than one pass of 16 lanes.
    func testPopcountADCCodesOverTheWholeRangeOfSums() throws {
        try XCTSkipUnless(IntegerGEMM.isAvailable, "oneDNN's int8 GEMM runs only with AVX-512 (ISA \(DNNL.isaName))")
        try XCTSkipUnless(CrossbarArray.popcountAvailable, "this CPU has no AVX-512 VPOPCNTDQ")
        var rng = RNG(seed: 59)
        let out = 17, P = 613, bits = 4
        for group in [32, 64, 96, 128] {
            let rows = 2 * group
            // Column c's cells ([Cout, rows]) are on with probability c / (out − 1): column 0 none, out − 1 all.
            let on = (0..<(rows * out)).map { i -> Bool in
                let p = Float(i / rows) / Float(out - 1)
                return rng.uniform() < p
            }
            // Position p's codes ([rows, P]) are at the top with probability p / (P − 1), else random.
            let top = UInt8(1 << bits - 1)
            let codes = (0..<(rows * P)).map { i -> UInt8 in
                let p = Float(i % P) / Float(P - 1)
                return rng.uniform() < p ? top : UInt8(rng.below(1 << bits))
            }
            for (adcBits, range) in [(3, 1.0), (5, 0.5), (5, 1), (7, 1), (9, 1)] {
                var c = CIMConfig()
                c.adcBits = adcBits
                var a = CrossbarArray(on: on, outChannels: out, rows: rows, config: c, stream: 7,
                                      digitalReference: false)
                let adc = ADCQuantizer(bits: adcBits, rows: group, range: range)
                guard a.runsIntegerPlanes(bits: bits, tileRows: group, adc: adc) else { continue }
                func run() -> [UInt32] {
                    accumulate(a, byteCodes: codes, P: P, bits: bits, groups: [group, group], adc: adc)
                        .map(\.bitPattern)
                }
                XCTAssertTrue(a.usesPopcount)
                let popcount = run()
                a.usesPopcount = false
                XCTAssertEqual(popcount, run(), "\(group)-row groups, \(adcBits)-bit ADC, range \(range)")
            }
        }
    }

    /// The popcount kernel's packed shift-add (four planes' sums in bytes, one table lookup of their codes, one byte
    /// dot product) against its lane-by-lane shift-add, bit for bit: groups of 16 to 255 rows — 128 and more, where
    /// the sums outgrow the table's low half, with ADCs whose codes at 127 and 128 differ (7 bits) or not (5) —,
    /// codes of 1 to 4 bits, lossy and lossless ADCs, a digital reference, positions off the 16 lanes.
    func testPackedShiftAddIsTheLaneByLaneShiftAdd() throws {
        try XCTSkipUnless(IntegerGEMM.isAvailable, "the byte route runs only with AVX-512 (ISA \(DNNL.isaName))")
        try XCTSkipUnless(CrossbarArray.popcountAvailable, "this CPU has no AVX-512 VPOPCNTDQ")
        try XCTSkipUnless(bwma_popcount_packs() != 0, "this CPU has no AVX512-VBMI and VNNI")
        defer { bwma_popcount_allow_packed(1) }
        var rng = RNG(seed: 61)
        let shapes: [(Int, [Int], Int, Int)] = [(144, [128, 16], 16, 203), (255, [255], 5, 37),
                                                (300, [150, 150], 7, 50), (64, [64], 33, 16), (33, [33], 3, 1)]
        var compared = 0
        for (rows, groups, out, P) in shapes {
            for bits in 1...4 {
                for (adcBits, range, digital) in [(5, 1.0, true), (7, 1, false), (3, 0.5, false), (8, 1, false)] {
                    // Column c's cells on with probability c / (out − 1), codes at the top half the time: sums
                    // from 0 to the group's rows.
                    var c = CIMConfig()
                    c.adcBits = adcBits
                    let on = (0..<(rows * out)).map { i in rng.uniform() < Float(i / rows) / Float(out - 1) }
                    let a = CrossbarArray(on: on, outChannels: out, rows: rows, config: c, stream: 9,
                                          digitalReference: digital)
                    let adc = ADCQuantizer(bits: adcBits, rows: groups.max()!, range: range)
                    guard a.runsIntegerPlanes(bits: bits, tileRows: groups.max()!, adc: adc) else { continue }
                    let top = 1 << bits - 1
                    let codes = (0..<(rows * P)).map { _ in UInt8(rng.uniform() < 0.5 ? top : rng.below(top + 1)) }
                    func run(packed: Bool) -> [UInt32] {
                        bwma_popcount_allow_packed(packed ? 1 : 0)
                        return accumulate(a, byteCodes: codes, P: P, bits: bits, groups: groups, adc: adc)
                            .map(\.bitPattern)
                    }
                    XCTAssertEqual(run(packed: true), run(packed: false),
                                   "groups \(groups), k = \(bits), \(adcBits)-bit ADC, range \(range), \(digital)")
                    compared += 1
                }
            }
        }
        XCTAssertGreaterThanOrEqual(compared, 50)
    }

    /// The channels-last datapath's kernels against element by element: bytes to planes, plain and into padded
    /// frames (VBMI blocks of 4 positions × 16 channels, the rest one by one), and the digital output stage written channels-last (16 × 16
    /// tiles transposed in registers, the rest one by one) against `digitalOutput` bit for bit, in Float and rounded
    /// to bf16 (`BFloat16`) — with and without off-cell leakage and a bias, accumulators with a row stride beyond
    /// the positions, shapes with and without partial tiles.
    func testLayoutKernelsOfTheChannelsLastRoute() {
        var rng = RNG(seed: 53)
        for (positions, channels) in [(1024, 16), (64, 64), (25, 32), (49, 20), (7, 3), (256, 48), (40, 33)] {
            let bytes = (0..<(positions * channels)).map { _ in UInt8(rng.below(256)) }
            var planes = [UInt8](repeating: 0, count: bytes.count)
            bwma_bytes_to_planes(bytes, positions, Int32(channels), &planes)
            var wrongBytes = 0
            for p in 0..<positions {
                for c in 0..<channels where planes[c * positions + p] != bytes[p * channels + c] { wrongBytes += 1 }
            }
            XCTAssertEqual(wrongBytes, 0, "bytes to planes, \(positions) x \(channels)")
            // The same into padded frames (rows of `width` pixels; the borders keep their sentinel).
            for (width, pad) in [(positions, 0), (1, 2), (positions % 8 == 0 ? 8 : 1, 1)] where positions % width == 0 {
                let height = positions / width, ph = height + 2 * pad, pw = width + 2 * pad
                var framed = [UInt8](repeating: 0xA5, count: channels * ph * pw)
                bwma_bytes_to_padded_planes(bytes, height, width, Int32(channels), ph, pw, pad, pad, &framed)
                var wrong = 0
                for c in 0..<channels {
                    for y in 0..<ph {
                        for x in 0..<pw {
                            let inside = (pad..<(pad + height)).contains(y) && (pad..<(pad + width)).contains(x)
                            let expected = inside ? bytes[((y - pad) * width + x - pad) * channels + c] : 0xA5
                            if framed[(c * ph + y) * pw + x] != expected { wrong += 1 }
                        }
                    }
                }
                XCTAssertEqual(wrong, 0, "bytes to padded planes, \(height) x \(width) x \(channels), pad \(pad)")
            }

            let lda = positions + 5
            let acc = (0..<((channels + 1) * lda)).map { _ in Float(rng.below(3000)) + rng.normal() }
            let alpha = (0..<channels).map { _ in rng.normal() * 0.01 }, beta = (0..<channels).map { _ in rng.normal() }
            let bias = (0..<channels).map { _ in rng.normal() }
            for (leak, withBias, bf16) in [(Float(0), false, false), (Float(0.1), true, false), (0.1, true, true)] {
                let gain = 1 / (1 - leak)
                var y = [Float](repeating: .nan, count: positions * channels)
                var y16 = [UInt16](repeating: 0xFFFF, count: positions * channels)
                alpha.withUnsafeBufferPointer { a in
                    beta.withUnsafeBufferPointer { b in
                        bias.withUnsafeBufferPointer { bb in
                            var stage = bwma_output_stage(alpha_step: a.baseAddress, beta_step: b.baseAddress,
                                                          bias: withBias ? bb.baseAddress : nil, leak: leak,
                                                          gain: gain, bf16_output: bf16 ? 1 : 0)
                            if bf16 {
                                bwma_output_channels_last(&stage, acc, lda, positions, Int32(channels), &y16)
                            } else {
                                bwma_output_channels_last(&stage, acc, lda, positions, Int32(channels), &y)
                            }
                        }
                    }
                }
                var wrong = 0
                for p in 0..<positions {
                    let ref = acc[channels * lda + p]
                    for c in 0..<channels {
                        let on = (acc[c * lda + p] - leak * ref) * gain
                        let expected = CrossbarDatapath.digitalOutput(alphaStep: alpha[c], betaStep: beta[c],
                                                                      bias: withBias ? bias[c] : 0, onSum: on,
                                                                      inputSum: ref)
                        let got = bf16 ? UInt32(y16[p * channels + c]) : y[p * channels + c].bitPattern
                        if got != (bf16 ? UInt32(BFloat16(expected).bits) : expected.bitPattern) { wrong += 1 }
                    }
                }
                XCTAssertEqual(wrong, 0, "output stage, \(positions) x \(channels), leak \(leak), bf16 \(bf16)")
            }
        }
    }

    /// The byte route's input (`byteCodes`, `orderedColumns`) is the Float route's: codes, im2col, rows copied into
    /// the array's order — for same-size, strided, pointwise and wider-than-the-row windows, a shuffled row order,
    /// and values on the rounding ties.
    func testOrderedByteColumnsAreTheFloatRoutesColumns() {
        var rng = RNG(seed: 44)
        let geometries = [(16, 8, 8, 3, 1, 1), (5, 9, 7, 3, 2, 1), (4, 6, 6, 1, 2, 0), (17, 3, 2, 5, 2, 2),
                          (3, 11, 10, 7, 2, 3)]
        for (c, h, w, k, s, p) in geometries {
            let g = ConvGeometry(channels: c, height: h, width: w, kernel: (k, k), stride: (s, s), padding: (p, p))
            let scale: Float = 15 / 1.7, count = c * h * w, K = g.columnRows, P = g.outPixels
            var x = (0..<count).map { _ in rng.uniform() * 1.7 }
            for i in stride(from: 0, to: count, by: 6) { x[i] = (Float(i % 30) + 0.5) / scale }  // ties
            var order = Array(0..<K)
            for i in stride(from: K - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
            var codes = [Float](repeating: 0, count: count), columns = [Float](repeating: 0, count: K * P)
            CrossbarDatapath.codes(x, count, scale, into: &codes)
            Im2col.forward(g, x: codes, col: &columns, ld: P)
            var bytes = [UInt8](repeating: 0, count: count), ordered = [UInt8](repeating: 7, count: K * P)
            CrossbarDatapath.byteCodes(x, count, scale, into: &bytes)
            CrossbarDatapath.orderedColumns(g, image: bytes, order: order, into: &ordered, ld: P)
            for r in 0..<K {
                for q in 0..<P {
                    XCTAssertEqual(Float(ordered[r * P + q]), columns[order[r] * P + q], "\(g) row \(r) position \(q)")
                }
            }
        }
    }

    /// Against sums formed one by one: per group, per plane, per column Σ bit·cell in Int, the ADC's code, the
    /// shift-add of the codes in Int, the step times the total.
    func testIntegerGEMMMatchesTheScalarReference() throws {
        try XCTSkipUnless(IntegerGEMM.isAvailable, "oneDNN's int8 GEMM runs only with AVX-512 (ISA \(DNNL.isaName))")
        var c = CIMConfig()
        c.adcBits = 4
        var rng = RNG(seed: 43)
        let rows = 96, out = 5, P = 21, bits = 4, groups = [32, 32, 32]
        let on = (0..<(rows * out)).map { _ in rng.uniform() < 0.5 }
        let a = CrossbarArray(on: on, outChannels: out, rows: rows, config: c, stream: 1)
        let codes = (0..<(rows * P)).map { _ in rng.below(1 << bits) }
        let adc = ADCQuantizer(bits: 4, rows: 32, range: 1)
        let got = accumulate(a, codes: codes.map(Float.init), P: P, bits: bits, groups: groups, adc: adc)
        for col in 0..<a.columns {
            for p in 0..<P {
                var total = 0
                for (g, r0) in zip(groups, [0, 32, 64]) {
                    for j in 0..<bits {
                        var sum = 0
                        for r in r0..<(r0 + g) where (codes[r * P + p] >> j) & 1 == 1 {
                            sum += col == out || on[col * rows + r] ? 1 : 0
                        }
                        total += (1 << j) * Int(adc.code(Float(sum)))
                    }
                }
                XCTAssertEqual(got[col * P + p], Float(total) * adc.step, "column \(col), position \(p)")
            }
        }
    }

    /// A convolution through a lossy ideal chip on 1 and 2 worker threads: the workers run their int8 GEMMs
    /// concurrently (each on one OpenMP thread), and every image's output is the same.
    func testConvolutionThroughALossyChipIsTheSameOnTwoThreads() throws {
        try XCTSkipUnless(IntegerGEMM.isAvailable, "oneDNN's int8 GEMM runs only with AVX-512 (ISA \(DNNL.isaName))")
        defer { EngineContext.threads = 1 }
        let (conv, store) = try TestLayers.binarizedConv(inChannels: 16, outChannels: 8, seed: 14)
        defer { withExtendedLifetime(store) {} }
        // 40 images of 8 x 8: 16 images per GEMM group, three groups over the workers.
        let x = TestLayers.reluInput([40, 16, 8, 8], seed: 15)
        _ = conv.forward(x, training: true)
        var c = CIMConfig()
        c.adcBits = 4
        let chip = CrossbarDatapath(config: c, layerIndex: 0)
        conv.datapath = chip
        EngineContext.threads = 1
        let one = conv.forward(x, training: false).array
        XCTAssertTrue(try XCTUnwrap(chip.array).usesIntegerGEMM)
        EngineContext.threads = 2
        let two = conv.forward(x, training: false).array
        XCTAssertEqual(one, two)
        conv.datapath = nil
        XCTAssertNotEqual(conv.forward(x, training: false).array, one, "15 ADC levels are lossy for the 16-row groups")
    }
}
