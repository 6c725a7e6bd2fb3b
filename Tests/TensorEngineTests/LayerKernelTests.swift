import TensorEngine
import TestSupport
import XCTest

/// Forward against direct references and backward against central differences for the non-convolution kernels.
final class LayerKernelTests: XCTestCase {
    override func tearDown() { EngineContext.threads = 1 }

    // MARK: - Linear

    func linear(_ x: [Float], _ w: [Float], _ b: [Float], n: Int, i: Int, o: Int) -> [Float] {
        var y = [Float](repeating: 0, count: n * o)
        x.withPointer { xp in w.withPointer { wp in b.withPointer { bp in
            LinearKernel.forward(y: &y, x: xp, weight: wp, bias: bp, batch: n, inFeatures: i, outFeatures: o)
        } } }
        return y
    }

    func testLinearForwardAndBackward() {
        let n = 3, i = 5, o = 4
        var x = GradientCheck.random(n * i, seed: 1), w = GradientCheck.random(o * i, seed: 2)
        var b = GradientCheck.random(o, seed: 3)
        let y = linear(x, w, b, n: n, i: i, o: o)
        for r in 0..<n {
            for c in 0..<o {
                var s = Double(b[c])
                for k in 0..<i { s += Double(x[r * i + k]) * Double(w[c * i + k]) }
                XCTAssertEqual(Double(y[r * o + c]), s, accuracy: 1e-5)
            }
        }
        let dy = GradientCheck.random(n * o, seed: 4)
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: w.count)
        var db = [Float](repeating: 0, count: o)
        x.withPointer { xp in w.withPointer { wp in dy.withPointer { dyp in
            LinearKernel.backward(dx: &dx, dWeight: &dw, dBias: &db, dy: dyp, x: xp, weight: wp, batch: n,
                                  inFeatures: i, outFeatures: o)
        } } }
        let (xs, ws, bs) = (x, w, b)
        GradientCheck.check("linear dx", values: &x, analytic: dx, indices: Array(0..<x.count)) {
            GradientCheck.loss(self.linear($0, ws, bs, n: n, i: i, o: o), dy)
        }
        GradientCheck.check("linear dW", values: &w, analytic: dw, indices: Array(0..<w.count)) {
            GradientCheck.loss(self.linear(xs, $0, bs, n: n, i: i, o: o), dy)
        }
        GradientCheck.check("linear db", values: &b, analytic: db, indices: Array(0..<o)) {
            GradientCheck.loss(self.linear(xs, ws, $0, n: n, i: i, o: o), dy)
        }
    }

    // MARK: - Batch norm

    func bnTrain(_ x: [Float], _ gamma: [Float], _ beta: [Float], n: Int, c: Int, hw: Int,
                 runningMean: inout [Float], runningVar: inout [Float]) -> (y: [Float], mean: [Float], inv: [Float]) {
        var y = [Float](repeating: 0, count: x.count), mean = [Float](repeating: 0, count: c), inv = mean
        x.withPointer { xp in gamma.withPointer { gp in beta.withPointer { bp in
            BatchNormKernel.forwardTraining(y: &y, mean: &mean, invStd: &inv, x: xp, gamma: gp, beta: bp,
                                            runningMean: &runningMean, runningVar: &runningVar, batch: n,
                                            channels: c, spatial: hw, momentum: 0.1, eps: 1e-5)
        } } }
        return (y, mean, inv)
    }

    func testBatchNormTrainingStatisticsAndRunningUpdateByHand() {
        // One channel, N = 2, HW = 2: x = [1, 3 | 5, 7] → mean 4, biased var 5, unbiased var 20/3.
        var rm: [Float] = [0.5], rv: [Float] = [2]
        let out = bnTrain([1, 3, 5, 7], [2], [0.5], n: 2, c: 1, hw: 2, runningMean: &rm, runningVar: &rv)
        let inv = 1 / (5 + 1e-5 as Double).squareRoot()
        XCTAssertEqual(Double(out.mean[0]), 4, accuracy: 1e-6)
        XCTAssertEqual(Double(out.inv[0]), inv, accuracy: 1e-6)
        for (k, v) in [1.0, 3, 5, 7].enumerated() {
            XCTAssertEqual(Double(out.y[k]), 2 * (v - 4) * inv + 0.5, accuracy: 1e-5)
        }
        XCTAssertEqual(Double(rm[0]), 0.9 * 0.5 + 0.1 * 4, accuracy: 1e-6)
        XCTAssertEqual(Double(rv[0]), 0.9 * 2 + 0.1 * 20.0 / 3, accuracy: 1e-5)
    }

    func testBatchNormOnePassStatisticsSurviveALargeMean() {
        // Mean 1000, std 0.01: the naive one-pass E[x²] − E[x]² in Float loses every digit; the shifted one must not.
        let n = 4, hw = 300
        var rng = RNG(seed: 5)
        let x = (0..<(n * hw)).map { _ in 1000 + 0.01 * rng.normal() }
        let xd = x.map(Double.init)
        let mean = xd.reduce(0, +) / Double(x.count)
        let variance = xd.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count)
        var rm: [Float] = [0], rv: [Float] = [1]
        let out = bnTrain(x, [1], [0], n: n, c: 1, hw: hw, runningMean: &rm, runningVar: &rv)
        XCTAssertEqual(Double(out.mean[0]), mean, accuracy: 1e-3)
        let inv = 1 / (variance + 1e-5).squareRoot()
        XCTAssertEqual(Double(out.inv[0]), inv, accuracy: inv * 1e-2)
    }

    func testBatchNormWithFusedReLUMatchesBatchNormThenReLU() {
        for threads in [1, 2] {
            EngineContext.threads = threads
            let n = 2, c = 3, hw = 21
            var x = GradientCheck.random(n * c * hw, seed: 15, scale: 1.5)
            let gamma = GradientCheck.random(c, seed: 16), beta = GradientCheck.random(c, seed: 17)
            var rm = [Float](repeating: 0, count: c), rv = [Float](repeating: 1, count: c)
            func fused(_ xv: [Float]) -> (y: [Float], mean: [Float], inv: [Float]) {
                var y = [Float](repeating: 0, count: xv.count), mean = [Float](repeating: 0, count: c), inv = mean
                var a = rm, b = rv
                xv.withPointer { xp in
                    BatchNormKernel.forwardTraining(y: &y, mean: &mean, invStd: &inv, x: xp, gamma: gamma, beta: beta,
                                                    runningMean: &a, runningVar: &b, batch: n, channels: c,
                                                    spatial: hw, momentum: 0.1, eps: 1e-5, relu: true)
                }
                return (y, mean, inv)
            }
            let plain = bnTrain(x, gamma, beta, n: n, c: c, hw: hw, runningMean: &rm, runningVar: &rv)
            let f = fused(x)
            XCTAssertEqual(f.y, plain.y.map { max($0, 0) })
            let dy = GradientCheck.random(x.count, seed: 18)
            var dx = [Float](repeating: 0, count: x.count), dg = [Float](repeating: 0, count: c), db = dg
            x.withPointer { xp in dy.withPointer { dyp in f.y.withPointer { yp in
                BatchNormKernel.backwardTraining(dx: &dx, dGamma: &dg, dBeta: &db, dy: dyp, x: xp, gamma: gamma,
                                                 mean: f.mean, invStd: f.inv, batch: n, channels: c, spatial: hw,
                                                 reluOutput: yp)
            } } }
            GradientCheck.check("bn+relu dx", values: &x, analytic: dx, indices: GradientCheck.sample(x.count, 60),
                                eps: 1e-3, atol: 5e-3, rtol: 5e-3) { GradientCheck.loss(fused($0).y, dy) }
        }
    }

    func testBatchNormInferenceUsesRunningStatistics() {
        let x: [Float] = [1, -2, 3, 0.5, 10, 4]  // N = 3, C = 2, HW = 1
        let gamma: [Float] = [1.5, -0.5], beta: [Float] = [0.1, 0.2], rm: [Float] = [1, 2], rv: [Float] = [4, 0.25]
        var y = [Float](repeating: 0, count: 6)
        x.withPointer { xp in
            BatchNormKernel.forwardInference(y: &y, x: xp, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv,
                                             batch: 3, channels: 2, spatial: 1, eps: 1e-5)
        }
        for k in 0..<6 {
            let c = k % 2
            let expected = Double(gamma[c]) * (Double(x[k]) - Double(rm[c])) / (Double(rv[c]) + 1e-5).squareRoot()
                + Double(beta[c])
            XCTAssertEqual(Double(y[k]), expected, accuracy: 1e-5)
        }
    }

    func testBatchNormTrainingBackwardMatchesFiniteDifferences() {
        for threads in [1, 2] {
            EngineContext.threads = threads
            let n = 3, c = 3, hw = 20  // hw > 16 exercises the vector body and the scalar tail
            var x = GradientCheck.random(n * c * hw, seed: 11, scale: 2).map { $0 + 1 }
            var gamma = GradientCheck.random(c, seed: 12), beta = GradientCheck.random(c, seed: 13)
            let dy = GradientCheck.random(x.count, seed: 14)
            var rm = [Float](repeating: 0, count: c), rv = [Float](repeating: 1, count: c)
            let f = bnTrain(x, gamma, beta, n: n, c: c, hw: hw, runningMean: &rm, runningVar: &rv)
            var dx = [Float](repeating: 0, count: x.count), dg = [Float](repeating: 0, count: c), dbt = dg
            x.withPointer { xp in dy.withPointer { dyp in
                BatchNormKernel.backwardTraining(dx: &dx, dGamma: &dg, dBeta: &dbt, dy: dyp, x: xp, gamma: gamma,
                                                 mean: f.mean, invStd: f.inv, batch: n, channels: c, spatial: hw)
            } }
            let (xs, gs, bs) = (x, gamma, beta)
            func loss(_ xv: [Float], _ gv: [Float], _ bv: [Float]) -> Double {
                var a = rm, b = rv
                return GradientCheck.loss(bnTrain(xv, gv, bv, n: n, c: c, hw: hw, runningMean: &a, runningVar: &b).y, dy)
            }
            // Normalisation is smooth; ε = 1e-2 on inputs of scale 2 keeps the O(ε²) term below 1e-4.
            GradientCheck.check("bn dx", values: &x, analytic: dx, indices: GradientCheck.sample(x.count, 60),
                                atol: 5e-3, rtol: 5e-3) { loss($0, gs, bs) }
            GradientCheck.check("bn dgamma", values: &gamma, analytic: dg, indices: Array(0..<c)) { loss(xs, $0, bs) }
            GradientCheck.check("bn dbeta", values: &beta, analytic: dbt, indices: Array(0..<c)) { loss(xs, gs, $0) }
        }
    }

    func testBatchNormInferenceBackwardMatchesFiniteDifferences() {
        let n = 2, c = 2, hw = 5
        var x = GradientCheck.random(n * c * hw, seed: 21)
        var gamma: [Float] = [0.7, -1.2]
        let beta: [Float] = [0.1, 0.3], rm: [Float] = [0.2, -0.1], rv: [Float] = [1.5, 0.5]
        let dy = GradientCheck.random(x.count, seed: 22)
        func f(_ xv: [Float], _ gv: [Float]) -> [Float] {
            var y = [Float](repeating: 0, count: xv.count)
            xv.withPointer { xp in
                BatchNormKernel.forwardInference(y: &y, x: xp, gamma: gv, beta: beta, runningMean: rm, runningVar: rv,
                                                 batch: n, channels: c, spatial: hw, eps: 1e-5)
            }
            return y
        }
        var dx = [Float](repeating: 0, count: x.count), dg: [Float] = [0, 0], db: [Float] = [0, 0]
        x.withPointer { xp in dy.withPointer { dyp in
            BatchNormKernel.backwardInference(dx: &dx, dGamma: &dg, dBeta: &db, dy: dyp, x: xp, gamma: gamma,
                                              runningMean: rm, runningVar: rv, batch: n, channels: c, spatial: hw,
                                              eps: 1e-5)
        } }
        let xs = x, gs = gamma
        GradientCheck.check("bn-eval dx", values: &x, analytic: dx, indices: Array(0..<x.count)) {
            GradientCheck.loss(f($0, gs), dy)
        }
        GradientCheck.check("bn-eval dgamma", values: &gamma, analytic: dg, indices: [0, 1]) {
            GradientCheck.loss(f(xs, $0), dy)
        }
        var sumDy0 = 0.0  // dβ for channel 0 is Σ dy over its planes
        for b in 0..<n { for i in 0..<hw { sumDy0 += Double(dy[b * c * hw + i]) } }
        XCTAssertEqual(Double(db[0]), sumDy0, accuracy: 1e-5)
    }

    // MARK: - Activations

    /// Inputs kept at least 0.05 away from the kinks (0 for ReLU, ±1 for hardtanh); ε = 1e-2 never crosses them.
    func awayFromKinks(_ n: Int, seed: UInt64, kinks: [Float]) -> [Float] {
        GradientCheck.random(n, seed: seed, scale: 2).map { v in
            var v = v
            for k in kinks where abs(v - k) < 0.05 { v = k + (v >= k ? 0.05 : -0.05) }
            return v
        }
    }

    func testReluAndHardtanhForwardAndBackward() {
        for threads in [1, 2] {
            EngineContext.threads = threads
            let n = 37  // vector body + tail
            var x = awayFromKinks(n, seed: 31, kinks: [0, -1, 1])
            let dy = GradientCheck.random(n, seed: 32)
            func relu(_ v: [Float]) -> [Float] {
                var y = [Float](repeating: 0, count: n)
                v.withPointer { ActivationKernels.reluForward(y: &y, x: $0, count: n) }
                return y
            }
            func htanh(_ v: [Float]) -> [Float] {
                var y = [Float](repeating: 0, count: n)
                v.withPointer { ActivationKernels.hardtanhForward(y: &y, x: $0, count: n) }
                return y
            }
            XCTAssertEqual(relu(x), x.map { max($0, 0) })
            XCTAssertEqual(htanh(x), x.map { min(max($0, -1), 1) })
            var dr = [Float](repeating: 0, count: n), dh = dr
            x.withPointer { xp in dy.withPointer { dyp in
                ActivationKernels.reluBackward(dx: &dr, dy: dyp, x: xp, count: n)
                ActivationKernels.hardtanhBackward(dx: &dh, dy: dyp, x: xp, count: n)
            } }
            GradientCheck.check("relu", values: &x, analytic: dr, indices: Array(0..<n)) { GradientCheck.loss(relu($0), dy) }
            GradientCheck.check("hardtanh", values: &x, analytic: dh, indices: Array(0..<n)) {
                GradientCheck.loss(htanh($0), dy)
            }
        }
    }

    func testResidualAddAndFusedAddRelu() {
        let n = 35
        let a = GradientCheck.random(n, seed: 41), b = GradientCheck.random(n, seed: 42)
        var s = [Float](repeating: 0, count: n), r = s, acc = a
        ElementwiseKernels.add(&s, a, b, count: n)
        ElementwiseKernels.addRelu(&r, a, b, count: n)
        b.withPointer { ElementwiseKernels.accumulate(&acc, $0, count: n) }
        XCTAssertEqual(s, zip(a, b).map { $0 + $1 })
        XCTAssertEqual(acc, s)
        XCTAssertEqual(r, zip(a, b).map { max($0 + $1, 0) })
    }

    // MARK: - Pooling

    func pool(_ kind: String, _ x: [Float], n: Int, g: ConvGeometry) -> [Float] {
        var y = [Float](repeating: 0, count: n * g.channels * g.outPixels)
        var idx = [PoolingKernels.Winner](repeating: 0, count: y.count)
        x.withPointer { xp in
            if kind == "max" { PoolingKernels.maxForward(y: &y, argmax: &idx, x: xp, batch: n, geometry: g) }
            else { PoolingKernels.avgForward(y: &y, x: xp, batch: n, geometry: g) }
        }
        return y
    }

    func testPoolingForwardAgainstDirectWindowsAndBackwardAgainstFiniteDifferences() {
        let shapes: [(k: Int, s: Int, p: Int)] = [(2, 2, 0), (3, 2, 1), (3, 1, 1)]
        for (si, sh) in shapes.enumerated() {
            let n = 2, c = 2, h = 6, w = 7
            let g = ConvGeometry(channels: c, height: h, width: w, kernel: (sh.k, sh.k), stride: (sh.s, sh.s),
                                 padding: (sh.p, sh.p))
            // Distinct values spaced ≥ 0.05 apart so ε = 1e-2 never changes a max-pool winner.
            var rng = RNG(seed: UInt64(50 + si))
            var x = rng.permutation(n * c * h * w).map { Float($0) * 0.05 - 3 }
            let ymax = pool("max", x, n: n, g: g), yavg = pool("avg", x, n: n, g: g)
            for plane in 0..<(n * c) {
                for oy in 0..<g.outH {
                    for ox in 0..<g.outW {
                        var m = -Float.infinity, s: Float = 0
                        for ki in 0..<sh.k {
                            for kj in 0..<sh.k {
                                let iy = oy * sh.s - sh.p + ki, ix = ox * sh.s - sh.p + kj
                                if iy >= 0, iy < h, ix >= 0, ix < w {
                                    let v = x[plane * h * w + iy * w + ix]
                                    m = max(m, v); s += v
                                }
                            }
                        }
                        let o = plane * g.outPixels + oy * g.outW + ox
                        XCTAssertEqual(ymax[o], m)
                        XCTAssertEqual(yavg[o], s / Float(sh.k * sh.k), accuracy: 1e-5)  // count_include_pad
                    }
                }
            }
            let dy = GradientCheck.random(ymax.count, seed: 60)
            var dmax = [Float](repeating: 9, count: x.count), davg = dmax
            var idx = [PoolingKernels.Winner](repeating: 0, count: ymax.count)
            var tmp = [Float](repeating: 0, count: ymax.count)
            x.withPointer { xp in PoolingKernels.maxForward(y: &tmp, argmax: &idx, x: xp, batch: n, geometry: g) }
            dy.withPointer { dyp in
                PoolingKernels.maxBackward(dx: &dmax, dy: dyp, argmax: idx, batch: n, geometry: g)
                PoolingKernels.avgBackward(dx: &davg, dy: dyp, batch: n, geometry: g)
            }
            GradientCheck.check("maxpool \(sh)", values: &x, analytic: dmax, indices: Array(0..<x.count)) {
                GradientCheck.loss(self.pool("max", $0, n: n, g: g), dy)
            }
            GradientCheck.check("avgpool \(sh)", values: &x, analytic: davg, indices: Array(0..<x.count)) {
                GradientCheck.loss(self.pool("avg", $0, n: n, g: g), dy)
            }
        }
    }

    func testGlobalAveragePool() {
        let planes = 3, spatial = 5
        var x = GradientCheck.random(planes * spatial, seed: 70)
        func f(_ v: [Float]) -> [Float] {
            var y = [Float](repeating: 0, count: planes)
            v.withPointer { PoolingKernels.globalAvgForward(y: &y, x: $0, planes: planes, spatial: spatial) }
            return y
        }
        let y = f(x)
        for p in 0..<planes {
            XCTAssertEqual(y[p], x[(p * spatial)..<((p + 1) * spatial)].reduce(0, +) / Float(spatial), accuracy: 1e-6)
        }
        let dy = GradientCheck.random(planes, seed: 71)
        var dx = [Float](repeating: 0, count: x.count)
        dy.withPointer { PoolingKernels.globalAvgBackward(dx: &dx, dy: $0, planes: planes, spatial: spatial) }
        GradientCheck.check("gap", values: &x, analytic: dx, indices: Array(0..<x.count)) { GradientCheck.loss(f($0), dy) }
    }

    // MARK: - Option-A shortcut

    func testOptionAShortcutIsSubsampleAndZeroPadAndBackwardIsItsTranspose() {
        let n = 2, cin = 2, h = 5, w = 4, cout = 4, s = 2
        let oh = 3, ow = 2
        var x = GradientCheck.random(n * cin * h * w, seed: 80)
        func f(_ v: [Float]) -> [Float] {
            var y = [Float](repeating: 7, count: n * cout * oh * ow)
            v.withPointer { ShortcutKernels.forward(y: &y, x: $0, batch: n, inChannels: cin, height: h, width: w,
                                                    outChannels: cout, stride: s) }
            return y
        }
        let y = f(x)
        for b in 0..<n {
            for c in 0..<cout {
                for i in 0..<oh {
                    for j in 0..<ow {
                        let v = y[((b * cout + c) * oh + i) * ow + j]
                        if c < 1 || c >= 3 { XCTAssertEqual(v, 0) }
                        else { XCTAssertEqual(v, x[((b * cin + c - 1) * h + i * s) * w + j * s]) }
                    }
                }
            }
        }
        let dy = GradientCheck.random(y.count, seed: 81)
        var dx = [Float](repeating: 0, count: x.count)
        dy.withPointer { ShortcutKernels.backwardAccumulate(dx: &dx, dy: $0, batch: n, inChannels: cin, height: h,
                                                           width: w, outChannels: cout, stride: s) }
        GradientCheck.check("shortcut", values: &x, analytic: dx, indices: Array(0..<x.count)) {
            GradientCheck.loss(f($0), dy)
        }
    }

    // MARK: - Loss

    func testSoftmaxCrossEntropyWithLabelSmoothingByHandAndByFiniteDifferences() {
        let n = 3, c = 4
        var logits = GradientCheck.random(n * c, seed: 90, scale: 2)
        let labels: [Int32] = [2, 0, 3]
        for eps in [Float(0), 0.1] {
            var d = [Float](repeating: 0, count: n * c)
            let r = logits.withPointer { lp in labels.withUnsafeBufferPointer {
                SoftmaxCrossEntropy.forward(logits: lp, labels: $0.baseAddress!, batch: n, classes: c,
                                            labelSmoothing: eps, dLogits: &d)
            } }
            // By hand: mean over rows of −Σ_c q_c log softmax_c with q = (1−ε)·onehot + ε/C.
            var expected = 0.0, correct = 0
            for i in 0..<n {
                let row = (0..<c).map { Double(logits[i * c + $0]) }
                let m = row.max()!, lse = log(row.map { exp($0 - m) }.reduce(0, +)) + m
                for k in 0..<c {
                    let q = (k == Int(labels[i]) ? 1 - Double(eps) : 0) + Double(eps) / Double(c)
                    expected -= q * (row[k] - lse)
                }
                if row.firstIndex(of: m)! == Int(labels[i]) { correct += 1 }
            }
            XCTAssertEqual(r.loss, expected / Double(n), accuracy: 1e-6)
            XCTAssertEqual(r.correct, correct)
            GradientCheck.check("ce eps=\(eps)", values: &logits, analytic: d, indices: Array(0..<(n * c)), eps: 1e-3,
                                atol: 1e-4, rtol: 1e-3) { lv in
                lv.withPointer { lp in labels.withUnsafeBufferPointer {
                    SoftmaxCrossEntropy.forward(logits: lp, labels: $0.baseAddress!, batch: n, classes: c,
                                                labelSmoothing: eps, dLogits: nil).loss
                } }
            }
        }
    }
}
