import TensorEngine
import TestSupport
import XCTest

/// The engine's own bf16 weight-gradient kernel against a brute-force sum in Double.
///
/// With inputs on coarse grids (x = i/8, dy = j/64, |i| ≤ 8, |j| ≤ 16) every product is a multiple of 2⁻⁹ and every
/// partial sum stays far below 2²⁴·2⁻⁹, so fp32 sums them exactly in any order: the kernel must give the Double
/// reference's bits — any wrong position, channel, tap, pair or chunk boundary shows. Random bf16 values check the
/// fp32 sums' rounding: |Δ| ≤ 1e-5·Σ|terms|.
final class BF16WeightGradientTests: XCTestCase {
    override func tearDown() { EngineContext.threads = 1 }

    struct Case {
        var n: Int, cin: Int, h: Int, w: Int, cout: Int, k: Int, s: Int, p: Int
    }

    static let cases: [Case] = [
        Case(n: 3, cin: 16, h: 8, w: 8, cout: 16, k: 3, s: 1, p: 1),      // ResNet-20 block
        Case(n: 4, cin: 16, h: 9, w: 9, cout: 32, k: 3, s: 2, p: 1),      // strided, odd size: odd pixel count
        Case(n: 3, cin: 32, h: 7, w: 5, cout: 16, k: 1, s: 2, p: 0),      // projection shortcut, not square
        Case(n: 5, cin: 48, h: 7, w: 7, cout: 64, k: 3, s: 1, p: 1),      // odd width: pairs cross rows and images
        Case(n: 2, cin: 16, h: 6, w: 11, cout: 16, k: 5, s: 1, p: 2),     // wider window and padding
        Case(n: 2, cin: 16, h: 6, w: 6, cout: 32, k: 3, s: 1, p: 0),      // no padding
        Case(n: 37, cin: 16, h: 32, w: 32, cout: 16, k: 3, s: 1, p: 1),   // several chunks, the last one short
    ]

    func geometry(_ c: Case) -> ConvGeometry {
        ConvGeometry(channels: c.cin, height: c.h, width: c.w, kernel: (c.k, c.k), stride: (c.s, c.s),
                     padding: (c.p, c.p))
    }

    /// dW[o, c, i, j] = Σ dy[n, y, x, o]·x[n, y·s + i − p, x·s + j − p, c] (channels-last operands), and Σ|terms|.
    func reference(_ c: Case, x: [Float], dy: [Float]) -> (sum: [Double], magnitude: [Double]) {
        let g = geometry(c)
        var sum = [Double](repeating: 0, count: c.cout * c.cin * c.k * c.k), mag = sum
        for n in 0..<c.n { for y in 0..<g.outH { for xo in 0..<g.outW { for i in 0..<c.k { for j in 0..<c.k {
            let iy = y * c.s + i - c.p, ix = xo * c.s + j - c.p
            guard iy >= 0, iy < c.h, ix >= 0, ix < c.w else { continue }
            let dyBase = ((n * g.outH + y) * g.outW + xo) * c.cout, xBase = ((n * c.h + iy) * c.w + ix) * c.cin
            for o in 0..<c.cout {
                let d = Double(dy[dyBase + o])
                for ch in 0..<c.cin {
                    let t = d * Double(x[xBase + ch]), at = ((o * c.cin + ch) * c.k + i) * c.k + j
                    sum[at] += t; mag[at] += abs(t)
                }
            }
        } } } } }
        return (sum, mag)
    }

    /// The kernel's dW added to a start value of 1 (it accumulates), less that 1 — exact for the grid inputs.
    func kernel(_ c: Case, x: [Float], dy: [Float], threads: Int) throws -> [Float] {
        guard let k = BF16WeightGradient(batch: c.n, outChannels: c.cout, geometry: geometry(c)) else {
            throw XCTSkip("the kernel does not run here (AVX512-BF16 needed)")
        }
        EngineContext.threads = threads
        let xb = x.map { BFloat16($0).bits }, dyb = dy.map { BFloat16($0).bits }
        var dW = [Float](repeating: 1, count: c.cout * c.cin * c.k * c.k)
        dW.withUnsafeMutableBufferPointer { out in
            xb.withUnsafeBufferPointer { xp in
                dyb.withUnsafeBufferPointer {
                    k.accumulate(dWeight: out.baseAddress!, x: xp.baseAddress!, dy: $0.baseAddress!)
                }
            }
        }
        return dW.map { $0 - 1 }
    }

    func testGridInputsGiveTheExactSumBitForBit() throws {
        for (index, c) in Self.cases.enumerated() {
            let g = geometry(c)
            var rng = RNG(seed: UInt64(100 + index))
            let x = (0..<c.n * c.h * c.w * c.cin).map { _ in Float(Int(rng.next() % 17) - 8) / 8 }
            let dy = (0..<c.n * g.outPixels * c.cout).map { _ in Float(Int(rng.next() % 33) - 16) / 64 }
            let want = reference(c, x: x, dy: dy).sum.map { Float($0) }
            for threads in [1, 2] {
                let got = try kernel(c, x: x, dy: dy, threads: threads)
                let wrong = zip(got, want).filter { $0 != $1 }.count
                XCTAssertEqual(wrong, 0, "case \(index) \(c), \(threads) thread(s): \(wrong) of \(want.count) differ")
            }
        }
    }

    func testRandomInputsWithinFP32Rounding() throws {
        for (index, c) in Self.cases.enumerated() {
            let g = geometry(c)
            // bf16 values, so the reference sums the products the kernel sums.
            let x = GradientCheck.random(c.n * c.h * c.w * c.cin, seed: UInt64(200 + index)).map { BFloat16($0).float }
            let dy = GradientCheck.random(c.n * g.outPixels * c.cout, seed: UInt64(300 + index))
                .map { BFloat16($0).float }
            let (want, mag) = reference(c, x: x, dy: dy)
            let got = try kernel(c, x: x, dy: dy, threads: 2)
            for i in want.indices where abs(Double(got[i]) - want[i]) > 1e-5 * mag[i] + 1e-6 {
                return XCTFail("case \(index) \(c): dW[\(i)] = \(got[i]), want \(want[i]) (Σ|terms| \(mag[i]))")
            }
        }
    }

    /// Codes read as bytes give the bits of the same codes handed over as bf16 (the same products in the same order),
    /// which on grid inputs are the exact sums.
    func testCodesGiveTheBitsOfTheirBF16Values() throws {
        for (index, c) in Self.cases.enumerated() {
            let g = geometry(c)
            guard let k = BF16WeightGradient(batch: c.n, outChannels: c.cout, geometry: g) else {
                throw XCTSkip("the kernel does not run here (AVX512-BF16 needed)")
            }
            var rng = RNG(seed: UInt64(400 + index))
            let codes = (0..<c.n * c.h * c.w * c.cin).map { _ in UInt8(rng.next() % 16) }
            let dy = (0..<c.n * g.outPixels * c.cout).map { _ in Float(Int(rng.next() % 33) - 16) / 64 }
            let dyb = dy.map { BFloat16($0).bits }
            EngineContext.threads = 2
            var dW = [Float](repeating: 0, count: c.cout * c.cin * c.k * c.k)
            dW.withUnsafeMutableBufferPointer { out in
                codes.withUnsafeBufferPointer { cp in
                    dyb.withUnsafeBufferPointer { k.accumulate(dWeight: out.baseAddress!, codes: cp.baseAddress!,
                                                               dy: $0.baseAddress!) }
                }
            }
            let values = codes.map { Float($0) }
            XCTAssertEqual(dW, try kernel(c, x: values, dy: dy, threads: 2), "case \(index): codes against bf16")
            let want = reference(c, x: values, dy: dy).sum.map { Float($0) }
            XCTAssertEqual(zip(dW, want).filter { $0 != $1 }.count, 0, "case \(index): codes against the exact sum")
        }
    }

    /// Where the kernel replaces oneDNN's: strided layers and weight gradients within 1 MiB, not ResNet-18's wide
    /// stride-1 layers.
    func testTakenWhereItOutrunsOneDNN() throws {
        func outruns(_ c: Case) throws -> Bool {
            guard let k = BF16WeightGradient(batch: c.n, outChannels: c.cout, geometry: geometry(c)) else {
                throw XCTSkip("the kernel does not run here (AVX512-BF16 needed)")
            }
            return k.outrunsOneDNN
        }
        XCTAssertTrue(try outruns(Case(n: 32, cin: 64, h: 56, w: 56, cout: 64, k: 3, s: 1, p: 1)))
        XCTAssertTrue(try outruns(Case(n: 32, cin: 128, h: 28, w: 28, cout: 128, k: 3, s: 1, p: 1)))  // 576 KiB
        XCTAssertFalse(try outruns(Case(n: 32, cin: 256, h: 14, w: 14, cout: 256, k: 3, s: 1, p: 1)))
        XCTAssertFalse(try outruns(Case(n: 32, cin: 512, h: 7, w: 7, cout: 512, k: 3, s: 1, p: 1)))
        XCTAssertTrue(try outruns(Case(n: 32, cin: 256, h: 14, w: 14, cout: 512, k: 3, s: 2, p: 1)))
    }

    /// The verbose log line names the geometry as oneDNN's own lines do (bench/conv_roofline.py reads it).
    func testLogLineNamesTheGeometryAsOneDNNDoes() throws {
        let c = Case(n: 4, cin: 16, h: 9, w: 7, cout: 32, k: 3, s: 2, p: 1)
        guard let k = BF16WeightGradient(batch: c.n, outChannels: c.cout, geometry: geometry(c)) else {
            throw XCTSkip("the kernel does not run here (AVX512-BF16 needed)")
        }
        let prefix = "onednn_verbose,exec,cpu,convolution,bwma_bf16:avx512_core_bf16,backward_weights,"
        XCTAssertTrue(k.logLine.hasPrefix(prefix), k.logLine)
        XCTAssertTrue(k.logLine.hasSuffix(",mb4_ic16oc32_ih9oh5kh3sh2dh0ph1_iw7ow4kw3sw2dw0pw1"), k.logLine)
    }

    /// A oneDNN bf16 convolution hands its weight gradient to the kernel where oneDNN would run its `jit_bf16` one,
    /// and the result is the kernel's: the exact sum on grid inputs, added into dW.
    func testConvolutionUsesTheKernelWhereOneDNNWouldRunJitBF16() throws {
        guard DNNL.shared != nil, DNNL.hasNativeBF16, BF16WeightGradient.available else {
            throw XCTSkip("no native bf16 on this CPU")
        }
        let c = Case(n: 4, cin: 16, h: 8, w: 8, cout: 32, k: 3, s: 1, p: 1), g = geometry(c)
        guard let conv = DNNLConvolution(batch: c.n, outChannels: c.cout, geometry: g, bias: false, precision: .bf16,
                                         inputLayout: .nhwc) else { return XCTFail("no bf16 convolution") }
        var rng = RNG(seed: 7)
        let x = (0..<c.n * c.h * c.w * c.cin).map { _ in Float(Int(rng.next() % 17) - 8) / 8 }
        let dy = (0..<c.n * g.outPixels * c.cout).map { _ in Float(Int(rng.next() % 33) - 16) / 64 }
        let w = GradientCheck.random(c.cout * c.cin * 9, seed: 8)
        var y = [Float](repeating: 0, count: dy.count), dW = [Float](repeating: 1, count: w.count)
        y.withUnsafeMutableBufferPointer { conv.forward(y: $0.baseAddress!, x: x, weight: w, bias: nil) }
        dW.withUnsafeMutableBufferPointer { conv.backward(dx: nil, dWeight: $0.baseAddress!, dBias: nil, dy: dy, x: x,
                                                          weight: w) }
        let impl = conv.implementations[2]
        guard impl == "bwma_bf16:avx512_core_bf16" else {
            throw XCTSkip("oneDNN runs \(impl) for this weight gradient here (ISA \(DNNL.isaName))")
        }
        let want = reference(c, x: x, dy: dy).sum.map { Float($0) }
        XCTAssertEqual(zip(dW.map { $0 - 1 }, want).filter { $0 != $1 }.count, 0, "dW through DNNLConvolution")
    }
}
