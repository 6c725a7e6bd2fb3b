import TensorEngine
import TestSupport
import XCTest

/// oneDNN convolutions against the reference kernels (`Conv2dKernel`), forward and backward, fp32 and bf16.
///
/// Tolerances. fp32, direct kernels: both sides sum the same products in different orders, so they differ by
/// rounding only: |Δ| ≤ K·2⁻²³·Σ|wᵢxᵢ| (K terms); 1e-5·Σ|wᵢxᵢ| covers K up to ~80 with room (and in practice far
/// more: rounding errors of long sums grow like √K, not K). fp32 Winograd (3 × 3 stride-1 layers with ≥ 32 channels,
/// `ConvAlgorithm.auto`): the transforms round too, and their constants (up to 8 in F(4 × 4, 3 × 3)'s output
/// transform) scale those errors; on ResNet's shapes the error is ~1e-6 of the largest output (docs/benchmarks.md,
/// stop 37), still inside the same bound — a transform or a layout got wrong misses it by orders of magnitude.
/// bf16: each operand is rounded to 8 significant bits (relative error ≤ 2⁻⁹), so each product is off by at most
/// (1 + 2⁻⁹)² − 1 < 2⁻⁸ of its magnitude and the fp32 sum of K such products by at most 2⁻⁸·Σ|wᵢxᵢ| plus fp32
/// rounding; where oneDNN has no fp32-output kernel for a shape (the 1-channel stem) the result is also rounded to
/// bf16 once, another 2⁻⁹·|y| ≤ 2⁻⁹·Σ|wᵢxᵢ|: the bound used is 3·2⁻⁹·Σ|wᵢxᵢ| + 1e-5·Σ. The bias gradient sums
/// bf16-rounded output gradients: 2⁻⁹·Σ|dy| is within it. Σ|wᵢxᵢ| is computed by the reference kernel on |w| and |x|
/// (and likewise for the gradients).
final class DNNLConvolutionTests: XCTestCase {
    struct Case {
        var n = 2, cin = 3, h = 7, w = 6, cout = 4, k = 3, s = 1, p = 1, bias = false
    }

    static let cases: [Case] = [
        Case(),
        Case(n: 2, cin: 16, h: 8, w: 8, cout: 16, k: 3, s: 1, p: 1),              // ResNet-20 block
        Case(n: 3, cin: 16, h: 9, w: 9, cout: 32, k: 3, s: 2, p: 1, bias: true),  // strided, odd size, bias
        Case(n: 2, cin: 8, h: 6, w: 6, cout: 16, k: 1, s: 2, p: 0),               // projection shortcut
        Case(n: 1, cin: 1, h: 12, w: 10, cout: 16, k: 3, s: 1, p: 1),             // greyscale stem
        Case(n: 1, cin: 3, h: 11, w: 10, cout: 8, k: 7, s: 2, p: 3, bias: true),  // ResNet-18 stem
        Case(n: 2, cin: 5, h: 5, w: 7, cout: 3, k: 3, s: 1, p: 0),                // valid window, odd channels
        Case(n: 4, cin: 32, h: 16, w: 16, cout: 64, k: 3, s: 2, p: 1),            // ResNet-20 stage 3 entry
        Case(n: 4, cin: 64, h: 8, w: 8, cout: 64, k: 3, s: 1, p: 1),              // ResNet-20 stage 3
        Case(n: 32, cin: 64, h: 7, w: 7, cout: 64, k: 3, s: 1, p: 1),             // stage 3 at 28x28 input
        Case(n: 32, cin: 32, h: 14, w: 14, cout: 64, k: 3, s: 2, p: 1),           // its entry
        Case(n: 32, cin: 16, h: 28, w: 28, cout: 16, k: 3, s: 1, p: 1),           // stage 1 at 28x28 input
        // bf16 backward data as a forward on the turned weights (`DNNLConvolution.TransposedData`, where oneDNN
        // runs `jit_bf16` for it): channels swapped, non-square, 5 x 5 with padding 2, and no padding (K − 1 there).
        Case(n: 2, cin: 64, h: 10, w: 9, cout: 128, k: 3, s: 1, p: 1),
        Case(n: 2, cin: 96, h: 7, w: 8, cout: 64, k: 5, s: 1, p: 2),
        Case(n: 2, cin: 64, h: 9, w: 6, cout: 64, k: 3, s: 1, p: 0),
        // The engine's own bf16 3 x 3 kernel (`BF16Conv3x3`: 16 or 32 input channels, widths in 16s), forward and
        // as the transposed forward of backward data: ResNet-20's stage 1, a non-square input of three 16-wide
        // blocks (one without an edge), three output blocks (its backward data not: 48 channels), and a layer whose
        // backward data only takes it (64 → 32).
        Case(n: 3, cin: 16, h: 32, w: 32, cout: 16, k: 3, s: 1, p: 1),
        Case(n: 2, cin: 32, h: 5, w: 48, cout: 32, k: 3, s: 1, p: 1),
        Case(n: 2, cin: 16, h: 4, w: 16, cout: 48, k: 3, s: 1, p: 1),
        Case(n: 2, cin: 64, h: 6, w: 16, cout: 32, k: 3, s: 1, p: 1),
    ]

    /// Whether the engine's own 3 x 3 kernel takes a case's forward (`own(c)`), or its backward data as the
    /// transposed forward (`own(transposed c)`), on a CPU where oneDNN runs AVX512-BF16 without AMX.
    static func own(_ c: Case, transposed: Bool = false) -> Bool {
        let (cin, cout) = transposed ? (c.cout, c.cin) : (c.cin, c.cout)
        return c.k == 3 && c.s == 1 && c.p == 1 && !c.bias && (cin == 16 || cin == 32) && cout % 16 == 0
            && c.w % 16 == 0
    }

    func geometry(_ c: Case) -> ConvGeometry {
        ConvGeometry(channels: c.cin, height: c.h, width: c.w, kernel: (c.k, c.k), stride: (c.s, c.s),
                     padding: (c.p, c.p))
    }

    /// The reference kernels' forward and backward (dx, dW, db) for given operands.
    func reference(_ c: Case, x: [Float], w: [Float], b: [Float]?, dy: [Float])
        -> (y: [Float], dx: [Float], dW: [Float], db: [Float]) {
        let g = geometry(c)
        var y = [Float](repeating: 0, count: c.n * c.cout * g.outPixels)
        var dx = [Float](repeating: 0, count: x.count), dW = [Float](repeating: 0, count: w.count)
        var db = [Float](repeating: 0, count: c.cout)
        y.withMutable { yp in
            b.map { bb in bb.withUnsafeBufferPointer { Conv2dKernel.forward(y: yp, x: x, weight: w, bias: $0.baseAddress,
                                                                           batch: c.n, outChannels: c.cout, geometry: g) } }
                ?? Conv2dKernel.forward(y: yp, x: x, weight: w, bias: nil, batch: c.n, outChannels: c.cout, geometry: g)
        }
        dx.withMutable { dxp in
            dW.withMutable { dWp in
                db.withMutable { dbp in
                    Conv2dKernel.backward(dx: dxp, dWeight: dWp, dBias: b == nil ? nil : dbp, dy: dy, x: x, weight: w,
                                          batch: c.n, outChannels: c.cout, geometry: g)
                }
            }
        }
        return (y, dx, dW, db)
    }

    func check(_ precision: Precision) throws {
        guard DNNL.shared != nil else { throw XCTSkip("oneDNN has no CPU engine here") }
        guard DNNL.supportsEngine else { throw XCTSkip("oneDNN ISA \(DNNL.isaName): the engine does not use oneDNN below AVX-512") }
        if precision == .bf16 && !DNNL.hasNativeBF16 {
            throw XCTSkip("no native bf16 on this CPU (oneDNN ISA \(DNNL.isaName))")
        }
        let relative: Double = precision == .bf16 ? 3.0 / 512 + 1e-5 : 1e-5
        var transposedCases = 0, ownCases = 0, winogradCases = 0
        defer {
            // fp32 3 x 3 stride-1 layers with 32 channels or more on both sides run Winograd where asked (every
            // AVX-512 ISA has oneDNN's `jit_wino_4x3`), all three passes.
            let winograd = Self.cases.filter { $0.k == 3 && $0.s == 1 && $0.p == 1 && $0.cin >= 32 && $0.cout >= 32 }
            let asked = precision == .fp32 && EngineContext.convAlgorithm == .auto
            XCTAssertEqual(winogradCases, asked && DNNL.isaName.hasPrefix("avx512_core") ? 3 * winograd.count : 0)
            // Without AMX oneDNN 2.6 runs bf16 backward data on `jit_bf16`: every stride-1 case with 64 channels or
            // more on both sides turns it around, and every one the own 3 x 3 kernel takes as transposed.
            let turned = Self.cases.filter {
                !$0.bias && $0.s == 1 && ($0.cin >= 64 && $0.cout >= 64 || Self.own($0, transposed: true))
            }
            if precision == .bf16 && DNNL.isaName == "avx512_core_bf16" {
                XCTAssertEqual(transposedCases, turned.count)
                let forwards = Self.cases.filter { Self.own($0) }.count
                XCTAssertEqual(ownCases, forwards + turned.filter { Self.own($0, transposed: true) }.count)
            }
            if precision == .fp32 { XCTAssertEqual(transposedCases, 0); XCTAssertEqual(ownCases, 0) }
        }
        for (i, c) in Self.cases.enumerated() {
            let g = geometry(c)
            let x = GradientCheck.random(c.n * c.cin * c.h * c.w, seed: UInt64(10 + i))
            let w = GradientCheck.random(c.cout * c.cin * c.k * c.k, seed: UInt64(20 + i), scale: 0.5)
            let b = c.bias ? GradientCheck.random(c.cout, seed: UInt64(30 + i)) : nil
            let dy = GradientCheck.random(c.n * c.cout * g.outPixels, seed: UInt64(40 + i))
            let ref = reference(c, x: x, w: w, b: b, dy: dy)
            // Σ|terms| per output: the same kernels on absolute values (bias magnitudes included).
            let mag = reference(c, x: x.map(abs), w: w.map(abs), b: b?.map(abs), dy: dy.map(abs))

            guard let conv = DNNLConvolution(batch: c.n, outChannels: c.cout, geometry: g, bias: c.bias,
                                             precision: precision) else {
                return XCTFail("case \(i): oneDNN has no \(precision) convolution for \(c)")
            }
            // oneDNN writes the output channels-last and reads its gradient so.
            var yLast = [Float](repeating: .nan, count: ref.y.count)
            yLast.withMutable { yp in
                b.map { bb in bb.withUnsafeBufferPointer { conv.forward(y: yp, x: x, weight: w, bias: $0.baseAddress) } }
                    ?? conv.forward(y: yp, x: x, weight: w, bias: nil)
            }
            let y = Self.planar(yLast, batch: c.n, channels: c.cout, positions: g.outPixels)
            assertClose(y, ref.y, mag.y, relative, "case \(i) \(precision) forward [\(conv.implementations[0])]")
            let dyLast = Self.channelsLast(dy, batch: c.n, channels: c.cout, positions: g.outPixels)

            XCTAssertTrue(conv.supportsBackward)
            // Gradients accumulate: start from a known value and check the sum.
            var dx = [Float](repeating: .nan, count: x.count)
            var dW = [Float](repeating: 1, count: w.count), db = [Float](repeating: 1, count: c.cout)
            dx.withMutable { dxp in
                dW.withMutable { dWp in
                    db.withMutable { dbp in
                        conv.backward(dx: dxp, dWeight: dWp, dBias: c.bias ? dbp : nil, dy: dyLast, x: x, weight: w)
                    }
                }
            }
            let impl = conv.implementations.joined(separator: ", ")
            if conv.implementations[1].contains("transposed") { transposedCases += 1 }
            ownCases += conv.implementations.filter { $0.hasPrefix(BF16Conv3x3.implementation) }.count
            winogradCases += conv.implementations.filter { $0.hasPrefix("jit_wino") }.count
            assertClose(dx, ref.dx, mag.dx, relative, "case \(i) \(precision) dx [\(impl)]")
            assertClose(dW.map { $0 - 1 }, ref.dW, mag.dW, relative, "case \(i) \(precision) dW [\(impl)]", slack: 1e-6)
            if c.bias {
                assertClose(db.map { $0 - 1 }, ref.db, mag.db, relative, "case \(i) \(precision) db", slack: 1e-6)
            }
        }
    }

    static func planar(_ a: [Float], batch: Int, channels: Int, positions: Int) -> [Float] {
        var out = [Float](repeating: 0, count: a.count)
        LayoutKernels.toPlanes(&out, a, batch: batch, channels: channels, positions: positions)
        return out
    }

    static func channelsLast(_ a: [Float], batch: Int, channels: Int, positions: Int) -> [Float] {
        var out = [Float](repeating: 0, count: a.count)
        LayoutKernels.toChannelsLast(&out, a, batch: batch, channels: channels, positions: positions)
        return out
    }

    func assertClose(_ a: [Float], _ b: [Float], _ magnitude: [Float], _ relative: Double, _ what: String,
                     slack: Double = 0, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        var worst = 0.0, at = 0
        for i in 0..<Swift.min(a.count, b.count) {
            let bound = relative * Double(magnitude[i]) + 1e-7 + slack
            let excess = abs(Double(a[i]) - Double(b[i])) / bound
            if !(excess <= worst) { worst = excess.isNaN ? .infinity : excess; at = i }
        }
        XCTAssertLessThanOrEqual(worst, 1, "\(what): element \(at) is \(a[at]) vs \(b[at]) (bound \(relative)·\(magnitude[at]))",
                                 file: file, line: line)
    }

    func testFP32MatchesReferenceToRounding() throws { try check(.fp32) }

    /// The same with the direct kernels only (`runtime.conv_algorithm: direct`): no layer runs Winograd.
    func testFP32DirectMatchesReferenceToRounding() throws {
        EngineContext.convAlgorithm = .direct
        defer { EngineContext.convAlgorithm = .auto }
        try check(.fp32)
    }

    /// Winograd's results on a ResNet-20 stage-3 layer are the direct kernels' to within its transforms' rounding:
    /// relative L2 error of the output, the input gradient and the weight gradient below 4e-6 (measured ~1e-6),
    /// while both are far from each other's bits (the transforms really ran).
    func testWinogradIsTheDirectConvolutionToRounding() throws {
        guard DNNL.shared != nil, DNNL.isaName.hasPrefix("avx512_core") else {
            throw XCTSkip("oneDNN's Winograd kernels need AVX-512 (ISA \(DNNL.isaName))")
        }
        let c = Case(n: 8, cin: 64, h: 8, w: 8, cout: 64, k: 3, s: 1, p: 1), g = geometry(c)
        let x = GradientCheck.random(c.n * c.cin * c.h * c.w, seed: 51).map { Swift.max($0, 0) }  // after a ReLU
        let w = GradientCheck.random(c.cout * g.columnRows, seed: 52, scale: 0.06)
        let dy = GradientCheck.random(c.n * c.cout * g.outPixels, seed: 53)
        var results: [[[Float]]] = []
        for algorithm in [ConvAlgorithm.direct, .auto] {
            EngineContext.convAlgorithm = algorithm
            defer { EngineContext.convAlgorithm = .auto }
            let conv = try XCTUnwrap(DNNLConvolution(batch: c.n, outChannels: c.cout, geometry: g, bias: false,
                                                     precision: .fp32, inputLayout: .nhwc))
            var y = [Float](repeating: 0, count: dy.count), dx = [Float](repeating: 0, count: x.count)
            var dW = [Float](repeating: 0, count: w.count)
            y.withMutable { conv.forward(y: $0, x: x, weight: w, bias: nil) }
            dx.withMutable { dxp in dW.withMutable { conv.backward(dx: dxp, dWeight: $0, dBias: nil, dy: dy, x: x,
                                                                   weight: w) } }
            XCTAssertEqual(conv.implementations.filter { $0.hasPrefix("jit_wino") }.count, algorithm == .auto ? 3 : 0,
                           "\(conv.implementations)")
            results.append([y, dx, dW])
        }
        for (k, name) in ["y", "dx", "dW"].enumerated() {
            let a = results[0][k], b = results[1][k]
            let err = zip(a, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            let norm = a.reduce(0.0) { $0 + Double($1) * Double($1) }
            XCTAssertLessThan((err / norm).squareRoot(), 4e-6, name)
            XCTAssertNotEqual(a, b, "\(name): Winograd gave the direct kernels' bits")
        }
    }

    /// A channels-last input (a previous oneDNN layer's output) gives the same output and weight gradient as the
    /// NCHW one, and its input gradient comes back channels-last.
    func testChannelsLastInputIsTheSameConvolution() throws {
        guard DNNL.shared != nil, DNNL.supportsEngine else { throw XCTSkip("the engine does not use oneDNN here") }
        for c in Self.cases {
            let g = geometry(c), P = c.h * c.w, Q = g.outPixels
            let x = GradientCheck.random(c.n * c.cin * P, seed: 1), w = GradientCheck.random(c.cout * g.columnRows, seed: 2)
            let dy = GradientCheck.random(c.n * c.cout * Q, seed: 3)
            var results: [(y: [Float], dx: [Float], dW: [Float])] = []
            for layout in [Tensor.Layout.nchw, .nhwc] {
                let conv = try XCTUnwrap(DNNLConvolution(batch: c.n, outChannels: c.cout, geometry: g, bias: false,
                                                         precision: .fp32, inputLayout: layout))
                let xin = layout == .nhwc ? Self.channelsLast(x, batch: c.n, channels: c.cin, positions: P) : x
                var y = [Float](repeating: 0, count: dy.count), dx = [Float](repeating: 0, count: x.count)
                var dW = [Float](repeating: 0, count: w.count)
                y.withMutable { conv.forward(y: $0, x: xin, weight: w, bias: nil) }
                dx.withMutable { dxp in dW.withMutable { conv.backward(dx: dxp, dWeight: $0, dBias: nil, dy: dy, x: xin,
                                                                       weight: w) } }
                if layout == .nhwc { dx = Self.planar(dx, batch: c.n, channels: c.cin, positions: P) }
                results.append((y, dx, dW))
            }
            XCTAssertEqual(results[0].y, results[1].y, "\(c)")
            XCTAssertEqual(results[0].dx, results[1].dx, "\(c)")
            XCTAssertEqual(results[0].dW, results[1].dW, "\(c)")
        }
    }

    /// An operand's converted copy stays valid while its memory is rebound between the operand's own buffer and a
    /// workspace slot (forward, a backward prepared from scratch, forward again, then backward): oneDNN frees a
    /// buffer a memory allocated itself on its first `set_data_handle`, which once made these copies land in freed
    /// memory (here other allocations of the same size, filled with NaN, would take it over).
    func testConvertedOperandsSurviveRebinding() throws {
        guard DNNL.shared != nil, DNNL.hasNativeBF16 else { throw XCTSkip("no native bf16 on this CPU") }
        let c = Self.cases[8], g = geometry(c)
        let x = GradientCheck.random(c.n * c.cin * c.h * c.w, seed: 21)
        let w = GradientCheck.random(c.cout * g.columnRows, seed: 22)
        let dy = GradientCheck.random(c.n * c.cout * g.outPixels, seed: 23)
        func run(rebinding: Bool) throws -> [[Float]] {
            let conv = try XCTUnwrap(DNNLConvolution(batch: c.n, outChannels: c.cout, geometry: g, bias: false,
                                                     precision: .bf16))
            var y = [Float](repeating: 0, count: dy.count), dx = x, dW = [Float](repeating: 0, count: w.count)
            y.withMutable { conv.forward(y: $0, x: x, weight: w, bias: nil) }
            var junk: [[Float]] = []
            if rebinding {
                XCTAssertTrue(conv.supportsBackward)
                conv.prepareBackward(x: x, weight: w)
                y.withMutable { conv.forward(y: $0, x: x, weight: w, bias: nil) }
                for bytes in [x.count * 2, w.count * 2, x.count * 4, w.count * 4] {
                    junk += (0..<4).map { _ in [Float](repeating: .nan, count: bytes / 4) }
                }
            }
            dx.withMutable { dxp in
                dW.withMutable { conv.backward(dx: dxp, dWeight: $0, dBias: nil, dy: dy, x: x, weight: w) }
            }
            XCTAssertFalse(junk.contains { $0.contains { !$0.isNaN } })
            return [y, dx, dW]
        }
        let plain = try run(rebinding: false), rebound = try run(rebinding: true)
        XCTAssertFalse(rebound.joined().contains { $0.isNaN })
        XCTAssertEqual(rebound, plain)
    }

    /// A backward prepared from k-bit codes reads the codes themselves: its weight gradient is Σ j·dy with only dy
    /// rounded to bf16 — the reference kernels' weight gradient of the codes and of the rounded dy, to fp32
    /// rounding. (Reading j·Δ in bf16 instead, j·Δ rounded to 8 significant bits, misses this bound by far.)
    func testBackwardFromCodesReadsTheCodesExactly() throws {
        guard DNNL.shared != nil, DNNL.hasNativeBF16 else { throw XCTSkip("no native bf16 on this CPU") }
        let c = Self.cases[1], g = geometry(c), positions = c.h * c.w
        var rng = RNG(seed: 31)
        let codes = (0..<(c.n * c.cin * positions)).map { _ in UInt8(rng.below(16)) }  // channels-last
        let w = GradientCheck.random(c.cout * g.columnRows, seed: 32)
        let dy = GradientCheck.random(c.n * c.cout * g.outPixels, seed: 33)  // channels-last
        let conv = try XCTUnwrap(DNNLConvolution(batch: c.n, outChannels: c.cout, geometry: g, bias: false,
                                                 precision: .bf16, inputLayout: .nhwc))
        XCTAssertTrue(conv.prepareBackward(codes: codes, weight: w))
        var dW = [Float](repeating: 0, count: w.count)
        dW.withMutable { conv.backward(dx: nil, dWeight: $0, dBias: nil, dy: dy, x: nil, weight: w) }
        let j = Self.planar(codes.map(Float.init), batch: c.n, channels: c.cin, positions: positions)
        let rounded = Self.planar(dy.map { BFloat16($0).float }, batch: c.n, channels: c.cout, positions: g.outPixels)
        let ref = reference(c, x: j, w: w, b: nil, dy: rounded).dW
        let magnitude = reference(c, x: j, w: w, b: nil, dy: rounded.map(abs)).dW.map(abs)
        assertClose(dW, ref, magnitude, 1e-5, "dW of the codes")
        XCTAssertGreaterThan(ref.map(abs).max() ?? 0, 1, "a vanishing gradient proves nothing")
    }

    func testBF16WithinOperandRoundingBound() throws { try check(.bf16) }

    /// The bound is tight enough to mean something: fp32 results are far inside it, and bf16 differs from fp32 at
    /// all (the test would catch a bf16 path that silently ran fp32).
    func testBF16ActuallyRoundsOperands() throws {
        guard DNNL.shared != nil, DNNL.hasNativeBF16 else { throw XCTSkip("no native bf16 on this CPU") }
        let c = Self.cases[1], g = geometry(c)
        let x = GradientCheck.random(c.n * c.cin * c.h * c.w, seed: 5)
        let w = GradientCheck.random(c.cout * c.cin * c.k * c.k, seed: 6)
        var outputs: [[Float]] = []
        for p in [Precision.fp32, .bf16] {
            let conv = try XCTUnwrap(DNNLConvolution(batch: c.n, outChannels: c.cout, geometry: g, bias: false,
                                                     precision: p))
            var y = [Float](repeating: 0, count: c.n * c.cout * g.outPixels)
            y.withMutable { conv.forward(y: $0, x: x, weight: w, bias: nil) }
            outputs.append(y)
        }
        let maxDiff = zip(outputs[0], outputs[1]).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(maxDiff, 1e-4, "bf16 gave fp32's results: operands were not rounded")
    }
}

extension Array where Element == Float {
    /// Runs `body` with a pointer to this array's own storage (results written through it stay in the array).
    mutating func withMutable<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}
