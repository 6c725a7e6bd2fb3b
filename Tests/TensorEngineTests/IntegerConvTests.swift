import TensorEngine
import TestSupport
import CConvKernels
import XCTest

/// The exact integer forward of binarized convolutions: oneDNN's u8 x s8 → s32 sums equal direct integer summation
/// bit for bit (on every ISA: CI also runs this under ONEDNN_MAX_CPU_ISA=AVX2 and AVX512_CORE), and the pointwise
/// parts (codes, window sums, combine) equal their definitions.
final class IntegerConvTests: XCTestCase {
    struct Case { var n = 2, cin = 16, h = 8, w = 8, cout = 16, k = 3, s = 1, p = 1 }

    static let cases: [Case] = [
        Case(),
        Case(n: 3, cin: 16, h: 9, w: 9, cout: 32, k: 3, s: 2, p: 1),
        Case(n: 2, cin: 32, h: 5, w: 6, cout: 8, k: 1, s: 2, p: 0),
        Case(n: 1, cin: 3, h: 11, w: 10, cout: 5, k: 7, s: 2, p: 3),
        Case(n: 2, cin: 64, h: 4, w: 4, cout: 64, k: 3, s: 1, p: 1),
        // A kernel wider than the padded-out row: taps entirely outside it.
        Case(n: 1, cin: 17, h: 3, w: 2, cout: 4, k: 5, s: 2, p: 2),
    ]

    func geometry(_ c: Case) -> ConvGeometry {
        ConvGeometry(channels: c.cin, height: c.h, width: c.w, kernel: (c.k, c.k), stride: (c.s, c.s),
                     padding: (c.p, c.p))
    }

    func testOneDNNSumsEqualDirectIntegerSumsBitForBit() throws {
        guard DNNL.shared != nil else { throw XCTSkip("oneDNN has no CPU engine here") }
        guard DNNL.supportsEngine else { throw XCTSkip("oneDNN ISA \(DNNL.isaName): the engine does not use oneDNN below AVX-512") }
        var rng = RNG(seed: 3)
        for (i, c) in Self.cases.enumerated() {
            for bits in [4, 8] {
                let g = geometry(c)
                let codes = (0..<(c.n * c.cin * c.h * c.w)).map { _ in UInt8(rng.next() % UInt64(1 << bits)) }
                let signs = (0..<(c.cout * g.columnRows)).map { _ in Int8(rng.next() % 2 == 0 ? -1 : 1) }
                let count = c.n * c.cout * g.outPixels
                var expected = [Int32](repeating: 0, count: count), got = [Int32](repeating: -7, count: count)
                IntegerConvKernels.reference(codes: codes, signs: signs, batch: c.n, outChannels: c.cout, geometry: g,
                                             into: &expected)
                let conv = try XCTUnwrap(DNNLIntegerConvolution(batch: c.n, outChannels: c.cout, geometry: g),
                                         "oneDNN has no int8 convolution for case \(i)")
                conv.forward(codes: codes, signs: signs, sums: &got)
                XCTAssertEqual(got, expected, "case \(i), \(bits)-bit codes [\(conv.implementation)]")
                // The test can fail: the sums are not trivially zero.
                XCTAssertGreaterThan(expected.map { abs($0) }.max() ?? 0, 0)
            }
        }
    }

    /// 1 ⊛ j against the brute-force convolution with all-ones weights, on the cases above and on channel counts
    /// that take each of the kernel's byte-sum widths (32, 16, and single codes) and rows of several vectors: the AVX2
    /// route and the generic one.
    func testWindowSumsCountCodesUnderEachWindow() {
        var rng = RNG(seed: 4)
        let more = [Case(n: 2, cin: 48, h: 7, w: 11, cout: 1, k: 3, s: 1, p: 1),
                    Case(n: 1, cin: 83, h: 5, w: 19, cout: 1, k: 3, s: 2, p: 1),
                    Case(n: 1, cin: 16, h: 4, w: 35, cout: 1, k: 3, s: 1, p: 1)]
        for c in Self.cases + more {
            let g = geometry(c)
            let codes = (0..<(c.n * c.cin * c.h * c.w)).map { _ in UInt8(rng.next() % 256) }
            // 1 ⊛ j is B ⊛ j with all-ones weights and one output channel.
            var expected = [Int32](repeating: 0, count: c.n * g.outPixels)
            IntegerConvKernels.reference(codes: codes, signs: [Int8](repeating: 1, count: g.columnRows), batch: c.n,
                                         outChannels: 1, geometry: g, into: &expected)
            var got = [Int32](repeating: -1, count: c.n * g.outPixels)
            IntegerConvKernels.windowSums(codes: codes, batch: c.n, geometry: g, into: &got)
            XCTAssertEqual(got, expected, "\(c)")
            var shape = g.cShape(batch: 1, outChannels: 1)
            var scratch = [Int32](repeating: -1, count: bwma_window_sums_scratch_ints(&shape))
            var generic = [Int32](repeating: -1, count: g.outPixels)
            bwma_window_sums_generic(&shape, codes, &generic, &scratch)
            XCTAssertEqual(generic, Array(expected.prefix(g.outPixels)), "generic route, \(c)")
        }
    }

    func testCodesRecoverTheGridAndTransposeToChannelsLast() {
        for bits in [1, 2, 4, 8] {
            let levels = (1 << bits) - 1, clip: Float = 0.7311, n = 2, ch = 3, positions = 5
            let delta = clip / Float(levels)
            var j = [Int](repeating: 0, count: n * ch * positions)
            for i in 0..<j.count { j[i] = (i * 7 + bits) % (levels + 1) }
            // Grid values as the quantizers produce them: round(x·inv)·Δ.
            let y = j.map { Float($0) * delta }
            var codes = [UInt8](repeating: 0, count: y.count)
            IntegerConvKernels.codes(of: y, batch: n, channels: ch, positions: positions, clip: clip,
                                     levels: levels, into: &codes)
            for b in 0..<n {
                for c in 0..<ch {
                    for p in 0..<positions {
                        XCTAssertEqual(Int(codes[(b * positions + p) * ch + c]), j[(b * ch + c) * positions + p],
                                       "bits \(bits) n \(b) c \(c) p \(p)")
                    }
                }
            }
        }
    }

    /// Channels-last input (positions 1) of arbitrary values — on the grid, between levels, on the rounding ties,
    /// below 0, above the clip, a ragged tail: the codes are the scalar rule j = round_half_even(clamp(x, 0, c)·inv),
    /// and their values j·Δ (`values(ofCodes:)`) are `QuantizationKernels.quantize`'s output bit for bit — the
    /// integer path's codes and the backward's rebuilt input are the Float path's quantized input.
    func testCodesOfAnyInputAreTheQuantizersGrid() {
        for (levels, clip) in [(15, Float(1.3)), (3, Float(0.417)), (255, Float(6.1)), (1, Float(0.9))] {
            let inv = Float(levels) / clip, count = 16 * 40 + 9
            var rng = RNG(seed: UInt64(levels))
            var x = (0..<count).map { _ in rng.uniform() * 1.8 * clip - 0.2 * clip }
            for i in stride(from: 0, to: count, by: 5) { x[i] = (Float(i % (2 * levels + 2)) / 2) / inv }  // ties
            var codes = [UInt8](repeating: 0, count: count)
            IntegerConvKernels.codes(of: x, batch: count, channels: 1, positions: 1, clip: clip, levels: levels,
                                     into: &codes)
            var quantized = [Float](repeating: 0, count: count), values = quantized
            QuantizationKernels.quantize(y: &quantized, x: x, count: count, clip: clip, levels: levels)
            IntegerConvKernels.values(ofCodes: codes, count: count, step: clip / Float(levels), into: &values)
            for i in 0..<count {
                let want = (Swift.min(Swift.max(x[i], 0), clip) * inv).rounded(.toNearestOrEven)
                XCTAssertEqual(Float(codes[i]), want, "levels \(levels) value \(i): \(x[i])")
                XCTAssertEqual(values[i].bitPattern, quantized[i].bitPattern, "levels \(levels) value \(i): \(x[i])")
            }
        }
    }

    /// bf16 of every code's value for several steps against the nearest bf16 found by brute force (the two
    /// candidates around the value, ties to the even one).
    func testBF16ValuesRoundToNearestEven() {
        let codes = (0...255).map { UInt8($0) }
        for step: Float in [0.1, 1.0 / 3, 0.7311 / 15, 6.1 / 255, 1e-3 * 1.7] {
            var got = [UInt16](repeating: 0, count: 256)
            IntegerConvKernels.bf16Values(ofCodes: codes, count: 256, step: step, into: &got)
            for j in 0..<256 {
                let v = Float(j) * step, low = UInt16(v.bitPattern >> 16), high = low + 1
                let lo = Float(bitPattern: UInt32(low) << 16), hi = Float(bitPattern: UInt32(high) << 16)
                let want = v - lo < hi - v ? low : v - lo > hi - v ? high : (low % 2 == 0 ? low : high)
                XCTAssertEqual(got[j], want, "step \(step), code \(j)")
            }
        }
    }

    func testCombineAppliesScalesPerChannel() {
        let n = 2, cout = 3, P = 17
        let sums = (0..<(n * P * cout)).map { Int32($0 % 11) - 5 }
        let window = (0..<(n * P)).map { Int32($0 % 7) }
        let scale: [Float] = [0.5, -1.25, 2], offset: [Float] = [0.1, 0.2, -0.3], bias: [Float] = [1, 2, 3]
        var y = [Float](repeating: .nan, count: n * cout * P)
        bias.withUnsafeBufferPointer { b in
            IntegerConvKernels.combine(y: &y, sums: sums, windowSums: window, scale: scale, offset: offset,
                                       bias: b.baseAddress, batch: n, outChannels: cout, positions: P)
        }
        for b in 0..<n {
            for c in 0..<cout {
                for p in 0..<P {
                    let i = (b * P + p) * cout + c
                    let want = scale[c] * Float(sums[i]) + (offset[c] * Float(window[b * P + p]) + bias[c])
                    XCTAssertEqual(y[i], want, "channels-last output n \(b) p \(p) c \(c)")
                }
            }
        }
        // In bf16 the same Floats, rounded to nearest (ties to even).
        var half = [BFloat16](repeating: BFloat16(bits: 0x7FC0), count: y.count)
        bias.withUnsafeBufferPointer { b in
            half.withUnsafeMutableBytes { h in
                IntegerConvKernels.combine(y: h.baseAddress!, sums: sums, windowSums: window, scale: scale,
                                           offset: offset, bias: b.baseAddress, batch: n, outChannels: cout,
                                           positions: P, bf16: true)
            }
        }
        XCTAssertEqual(half, y.map { BFloat16($0) })
    }

    /// The engine's own 3 x 3 kernel (`IntegerConv3x3`: 16 or 32 input channels, widths in 16s, codes below 128)
    /// writes oneDNN's sums combined, bit for bit, in Float and in bf16, with and without a bias: ResNet-20's stages,
    /// three 16-wide blocks in a row (one without an edge), three output blocks, a short non-square input.
    func testOwnKernelEqualsSumsThenCombineBitForBit() throws {
        guard DNNL.shared != nil, DNNL.supportsEngine else { throw XCTSkip("the engine does not use oneDNN here") }
        let shapes = [Case(n: 3, cin: 16, h: 32, w: 32, cout: 16), Case(n: 2, cin: 32, h: 16, w: 16, cout: 32),
                      Case(n: 2, cin: 32, h: 5, w: 48, cout: 16), Case(n: 2, cin: 16, h: 3, w: 16, cout: 48)]
        var rng = RNG(seed: 11), taken = 0
        defer { IntegerConv3x3.enabled = true }
        for (i, c) in shapes.enumerated() {
            let g = geometry(c)
            for bits in [4, 7] {
                let codes = (0..<(c.n * c.cin * c.h * c.w)).map { _ in UInt8(rng.next() % UInt64(1 << bits)) }
                let signs = (0..<(c.cout * g.columnRows)).map { _ in Int8(rng.next() % 2 == 0 ? -1 : 1) }
                let scale = (0..<c.cout).map { _ in Float(rng.next() % 1000) / 997 - 0.5 }
                let offset = (0..<c.cout).map { _ in Float(rng.next() % 1000) / 4999 - 0.1 }
                let bias = (0..<c.cout).map { _ in Float(rng.next() % 1000) / 333 - 1.5 }
                let conv = try XCTUnwrap(DNNLIntegerConvolution(batch: c.n, outChannels: c.cout, geometry: g))
                let levels = (1 << bits) - 1
                if conv.implementation.hasSuffix("avx512_core_vnni") {
                    XCTAssertNotNil(conv.ownKernel(levels: levels), "case \(i) \(bits)-bit: own kernel not taken")
                    XCTAssertNil(conv.ownKernel(levels: 255), "8-bit codes do not fit the signed broadcast")
                    taken += 1
                }
                for bf16 in [false, true] {
                    for withBias in [false, true] {
                        var outputs: [[UInt32]] = []
                        for own in [false, true] {
                            IntegerConv3x3.enabled = own
                            let count = c.n * c.cout * g.outPixels
                            var y = [UInt32](repeating: 0xFFFF_FFFF, count: count)
                            bias.withUnsafeBufferPointer { b in
                                y.withUnsafeMutableBytes { yp in
                                    conv.forward(codes: codes, signs: signs, scale: scale, offset: offset,
                                                 bias: withBias ? b.baseAddress : nil, y: yp.baseAddress!, bf16: bf16,
                                                 levels: levels)
                                }
                            }
                            // bf16 fills the first half; the rest must stay untouched.
                            outputs.append(y)
                        }
                        XCTAssertEqual(outputs[1], outputs[0], "case \(i) \(bits)-bit bf16 \(bf16) bias \(withBias)")
                        XCTAssertNotEqual(Set(outputs[0]).count, 1, "the outputs are not all equal")
                    }
                }
            }
        }
        if DNNL.isaName == "avx512_core_bf16" { XCTAssertEqual(taken, 2 * shapes.count) }
    }
}
