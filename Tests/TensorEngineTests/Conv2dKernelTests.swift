import TensorEngine
import TestSupport
import XCTest

final class Conv2dKernelTests: XCTestCase {
    override func tearDown() { EngineContext.threads = 1 }

    struct Case {
        var n = 2, cin = 3, h = 7, w = 6, cout = 4, k = 3, s = 1, p = 1
    }

    static let cases: [Case] = [
        Case(),                                           // same, stride 1 (fast path)
        Case(n: 2, cin: 2, h: 8, w: 8, cout: 3, k: 3, s: 2, p: 1),  // stride 2
        Case(n: 1, cin: 3, h: 9, w: 9, cout: 2, k: 5, s: 1, p: 2),  // 5x5 same
        Case(n: 1, cin: 2, h: 6, w: 7, cout: 3, k: 3, s: 1, p: 0),  // valid
        Case(n: 2, cin: 4, h: 5, w: 5, cout: 3, k: 1, s: 1, p: 0),  // pointwise
        Case(n: 1, cin: 3, h: 11, w: 10, cout: 2, k: 7, s: 2, p: 3), // ResNet-18 stem shape
        Case(n: 2, cin: 2, h: 6, w: 6, cout: 2, k: 1, s: 2, p: 0),  // projection shortcut
        Case(n: 1, cin: 2, h: 5, w: 4, cout: 2, k: 3, s: 3, p: 2),  // stride > kernel overlap, large pad
        Case(n: 1, cin: 1, h: 16, w: 32, cout: 2, k: 3, s: 1, p: 1), // rows of 32: vector paths
        // Shifted-GEMM path (stride-1 same, ≥ 8 input channels):
        Case(n: 3, cin: 8, h: 7, w: 6, cout: 5, k: 3, s: 1, p: 1),
        Case(n: 2, cin: 9, h: 5, w: 9, cout: 4, k: 5, s: 1, p: 2),
        Case(n: 2, cin: 8, h: 1, w: 1, cout: 3, k: 3, s: 1, p: 1),
        Case(n: 1, cin: 16, h: 17, w: 19, cout: 16, k: 3, s: 1, p: 1),
    ]

    /// Direct 7-loop convolution in Double.
    static func naive(_ c: Case, x: [Float], w: [Float], b: [Float]?) -> [Double] {
        let oh = (c.h + 2 * c.p - c.k) / c.s + 1, ow = (c.w + 2 * c.p - c.k) / c.s + 1
        var y = [Double](repeating: 0, count: c.n * c.cout * oh * ow)
        for n in 0..<c.n {
            for co in 0..<c.cout {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var s = b.map { Double($0[co]) } ?? 0
                        for ci in 0..<c.cin {
                            for ki in 0..<c.k {
                                for kj in 0..<c.k {
                                    let iy = oy * c.s - c.p + ki, ix = ox * c.s - c.p + kj
                                    guard iy >= 0, iy < c.h, ix >= 0, ix < c.w else { continue }
                                    s += Double(x[((n * c.cin + ci) * c.h + iy) * c.w + ix])
                                        * Double(w[((co * c.cin + ci) * c.k + ki) * c.k + kj])
                                }
                            }
                        }
                        y[((n * c.cout + co) * oh + oy) * ow + ox] = s
                    }
                }
            }
        }
        return y
    }

    func geometry(_ c: Case) -> ConvGeometry {
        ConvGeometry(channels: c.cin, height: c.h, width: c.w, kernel: (c.k, c.k), stride: (c.s, c.s),
                     padding: (c.p, c.p))
    }

    func forward(_ c: Case, x: [Float], w: [Float], b: [Float]?) -> [Float] {
        let g = geometry(c)
        var y = [Float](repeating: .nan, count: c.n * c.cout * g.outPixels)
        x.withPointer { xp in
            w.withPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    if let b {
                        b.withPointer { bp in
                            Conv2dKernel.forward(y: yp.baseAddress!, x: xp, weight: wp, bias: bp, batch: c.n,
                                                 outChannels: c.cout, geometry: g)
                        }
                    } else {
                        Conv2dKernel.forward(y: yp.baseAddress!, x: xp, weight: wp, bias: nil, batch: c.n,
                                             outChannels: c.cout, geometry: g)
                    }
                }
            }
        }
        return y
    }

    func testForwardMatchesDirectConvolution() {
        for threads in [1, 2] {
            EngineContext.threads = threads
            for (i, c) in Self.cases.enumerated() {
                let x = GradientCheck.random(c.n * c.cin * c.h * c.w, seed: UInt64(i))
                let w = GradientCheck.random(c.cout * c.cin * c.k * c.k, seed: UInt64(100 + i))
                let b = i % 2 == 0 ? GradientCheck.random(c.cout, seed: 7) : nil
                let y = forward(c, x: x, w: w, b: b)
                let ref = Self.naive(c, x: x, w: w, b: b)
                XCTAssertEqual(y.count, ref.count)
                for j in 0..<y.count {
                    // K ≤ 49·3 products of N(0,1) terms: Float32 accumulation error ≲ 1e-5·√K·|terms|.
                    XCTAssertEqual(Double(y[j]), ref[j], accuracy: 1e-4 * (1 + abs(ref[j])),
                                   "case \(i) threads \(threads) output \(j)")
                }
            }
        }
    }

    func testBackwardMatchesFiniteDifferences() {
        for threads in [1, 2] {
            EngineContext.threads = threads
            for (i, c) in Self.cases.enumerated() {
                let g = geometry(c)
                var x = GradientCheck.random(c.n * c.cin * c.h * c.w, seed: UInt64(i))
                var w = GradientCheck.random(c.cout * c.cin * c.k * c.k, seed: UInt64(100 + i))
                var b = GradientCheck.random(c.cout, seed: 5)
                let r = GradientCheck.random(c.n * c.cout * g.outPixels, seed: 77)
                // Analytic: gradients accumulate onto a non-zero start, which must be preserved.
                var dx = [Float](repeating: .nan, count: x.count)
                var dw = [Float](repeating: 0.5, count: w.count)
                var db = [Float](repeating: -0.25, count: c.cout)
                x.withPointer { xp in
                    w.withPointer { wp in
                        r.withPointer { rp in
                            Conv2dKernel.backward(dx: &dx, dWeight: &dw, dBias: &db, dy: rp, x: xp, weight: wp,
                                                  batch: c.n, outChannels: c.cout, geometry: g)
                        }
                    }
                }
                dw = dw.map { $0 - 0.5 }
                db = db.map { $0 + 0.25 }
                let lossX = { (xv: [Float]) in GradientCheck.loss(self.forward(c, x: xv, w: w, b: b), r) }
                GradientCheck.check("case \(i) t\(threads) dx", values: &x, analytic: dx,
                                    indices: GradientCheck.sample(x.count, 40), lossAt: lossX)
                let lossW = { (wv: [Float]) in GradientCheck.loss(self.forward(c, x: x, w: wv, b: b), r) }
                GradientCheck.check("case \(i) t\(threads) dW", values: &w, analytic: dw,
                                    indices: GradientCheck.sample(w.count, 40), lossAt: lossW)
                let lossB = { (bv: [Float]) in GradientCheck.loss(self.forward(c, x: x, w: w, b: bv), r) }
                GradientCheck.check("case \(i) t\(threads) db", values: &b, analytic: db,
                                    indices: Array(0..<c.cout), lossAt: lossB)
            }
        }
    }

    func testSkippingInputGradientLeavesWeightGradientUnchanged() {
        for c in [Self.cases[0], Self.cases[9]] {
            let g = geometry(c)
            let x = GradientCheck.random(c.n * c.cin * c.h * c.w, seed: 1)
            let w = GradientCheck.random(c.cout * c.cin * c.k * c.k, seed: 2)
            let r = GradientCheck.random(c.n * c.cout * g.outPixels, seed: 3)
            var dw1 = [Float](repeating: 0, count: w.count), dw2 = dw1
            var dx = [Float](repeating: 0, count: x.count)
            x.withPointer { xp in
                w.withPointer { wp in
                    r.withPointer { rp in
                        Conv2dKernel.backward(dx: &dx, dWeight: &dw1, dBias: nil, dy: rp, x: xp, weight: wp,
                                              batch: c.n, outChannels: c.cout, geometry: g)
                        Conv2dKernel.backward(dx: nil, dWeight: &dw2, dBias: nil, dy: rp, x: xp, weight: wp,
                                              batch: c.n, outChannels: c.cout, geometry: g)
                    }
                }
            }
            XCTAssertEqual(dw1, dw2)
        }
    }

    func testShiftedPathIsTakenWhereExpected() {
        XCTAssertTrue(ShiftedConvKernel.applies(geometry(Self.cases[9])))
        XCTAssertFalse(ShiftedConvKernel.applies(geometry(Self.cases[0])))  // 3 input channels
        XCTAssertFalse(ShiftedConvKernel.applies(geometry(Self.cases[1])))  // stride 2
    }
}
