import TensorEngine
import TestSupport
import XCTest

/// The channels-last batch-norm kernels against the NCHW ones on the same data (transposed): outputs, statistics,
/// running statistics and gradients agree to float rounding, for channel counts with and without a 16-channel tail.
final class BatchNormChannelsLastTests: XCTestCase {
    func assertClose(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let scale = b.map(abs).max() ?? 1
        let err = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(err, 2e-6 * Swift.max(scale, 1), "\(what): max error \(err), scale \(scale)",
                                 file: file, line: line)
    }

    func testMatchesThePlanarKernels() {
        // The last two span several of the kernels' row tiles (16,384 / C rows each) per sample and per worker.
        for (n, c, p, relu) in [(3, 16, 25, true), (2, 20, 9, false), (4, 3, 7, true), (2, 64, 16, false),
                                (2, 20, 1000, true), (3, 64, 600, false)] {
            let x = GradientCheck.random(n * c * p, seed: UInt64(c), scale: 2).map { $0 + 0.3 }
            let dy = GradientCheck.random(n * c * p, seed: UInt64(c + 1))
            let gamma = GradientCheck.random(c, seed: 7).map { $0 + 1 }, beta = GradientCheck.random(c, seed: 8)
            var results: [(y: [Float], mean: [Float], inv: [Float], rm: [Float], rv: [Float], dx: [Float],
                           dg: [Float], db: [Float])] = []
            for channelsLast in [false, true] {
                let xin = channelsLast ? Layouts.transpose(x, n, c, p, toChannelsLast: true) : x
                let dyin = channelsLast ? Layouts.transpose(dy, n, c, p, toChannelsLast: true) : dy
                var y = [Float](repeating: 0, count: x.count), dx = y
                var mean = [Float](repeating: 0, count: c), inv = mean, dg = mean, db = mean
                var rm = [Float](repeating: 0.5, count: c), rv = [Float](repeating: 2, count: c)
                BatchNormKernel.forwardTraining(
                    y: &y, mean: &mean, invStd: &inv, x: xin, gamma: gamma, beta: beta, runningMean: &rm,
                    runningVar: &rv, batch: n, channels: c, spatial: p, momentum: 0.1, eps: 1e-5, relu: relu,
                    channelsLast: channelsLast)
                y.withUnsafeBufferPointer { yp in
                    BatchNormKernel.backwardTraining(
                        dx: &dx, dGamma: &dg, dBeta: &db, dy: dyin, x: xin, gamma: gamma, mean: mean, invStd: inv,
                        batch: n, channels: c, spatial: p, reluOutput: relu ? yp.baseAddress : nil,
                        channelsLast: channelsLast)
                }
                if channelsLast {
                    y = Layouts.transpose(y, n, c, p, toChannelsLast: false)
                    dx = Layouts.transpose(dx, n, c, p, toChannelsLast: false)
                }
                results.append((y, mean, inv, rm, rv, dx, dg, db))
            }
            let (a, b) = (results[1], results[0])
            let what = "n \(n) c \(c) p \(p) relu \(relu)"
            assertClose(a.y, b.y, "\(what) y"); assertClose(a.mean, b.mean, "\(what) mean")
            assertClose(a.inv, b.inv, "\(what) invStd"); assertClose(a.rm, b.rm, "\(what) running mean")
            assertClose(a.rv, b.rv, "\(what) running var"); assertClose(a.dx, b.dx, "\(what) dx")
            assertClose(a.dg, b.dg, "\(what) dgamma"); assertClose(a.db, b.db, "\(what) dbeta")
            XCTAssertGreaterThan(b.dx.map(abs).max() ?? 0, 0)
        }
    }

    func testInferenceMatchesThePlanarKernels() {
        let (n, c, p) = (2, 18, 10)
        let x = GradientCheck.random(n * c * p, seed: 3), dy = GradientCheck.random(n * c * p, seed: 4)
        let gamma = GradientCheck.random(c, seed: 5), beta = GradientCheck.random(c, seed: 6)
        let rm = GradientCheck.random(c, seed: 7), rv = GradientCheck.random(c, seed: 8).map { abs($0) + 0.5 }
        var y0 = [Float](repeating: 0, count: x.count), y1 = y0, dx0 = y0, dx1 = y0
        var dg0 = [Float](repeating: 0, count: c), db0 = dg0, dg1 = dg0, db1 = dg0
        BatchNormKernel.forwardInference(y: &y0, x: x, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv,
                                         batch: n, channels: c, spatial: p, eps: 1e-5, relu: true)
        BatchNormKernel.backwardInference(dx: &dx0, dGamma: &dg0, dBeta: &db0, dy: dy, x: x, gamma: gamma,
                                          runningMean: rm, runningVar: rv, batch: n, channels: c, spatial: p, eps: 1e-5,
                                          reluOutput: y0)
        let xl = Layouts.transpose(x, n, c, p, toChannelsLast: true), dyl = Layouts.transpose(dy, n, c, p, toChannelsLast: true)
        BatchNormKernel.forwardInference(y: &y1, x: xl, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv,
                                         batch: n, channels: c, spatial: p, eps: 1e-5, relu: true, channelsLast: true)
        BatchNormKernel.backwardInference(dx: &dx1, dGamma: &dg1, dBeta: &db1, dy: dyl, x: xl, gamma: gamma,
                                          runningMean: rm, runningVar: rv, batch: n, channels: c, spatial: p,
                                          eps: 1e-5, reluOutput: y1, channelsLast: true)
        assertClose(Layouts.transpose(y1, n, c, p, toChannelsLast: false), y0, "y")
        assertClose(Layouts.transpose(dx1, n, c, p, toChannelsLast: false), dx0, "dx")
        assertClose(dg1, dg0, "dgamma"); assertClose(db1, db0, "dbeta")
    }

    /// The fused ReLU's mask recomputed from x (`reluBeta`) is the mask read from the output, bit for bit: the
    /// same dx, dγ and dβ, for a channel count with a 16-channel tail, many outputs at exactly 0.
    func testRecomputedReLUMaskIsTheOutputsMask() {
        let n = 3, c = 21, p = 10
        var x = GradientCheck.random(n * c * p, seed: 5, scale: 2)
        for i in stride(from: 0, to: x.count, by: 7) { x[i] = 0 }
        let dy = GradientCheck.random(n * c * p, seed: 6)
        let gamma = GradientCheck.random(c, seed: 7).map { $0 + 1 }, beta = GradientCheck.random(c, seed: 8)
        var y = [Float](repeating: 0, count: x.count)
        var mean = [Float](repeating: 0, count: c), inv = mean
        var rm = [Float](repeating: 0, count: c), rv = [Float](repeating: 1, count: c)
        BatchNormKernel.forwardTraining(
            y: &y, mean: &mean, invStd: &inv, x: x, gamma: gamma, beta: beta, runningMean: &rm, runningVar: &rv,
            batch: n, channels: c, spatial: p, momentum: 0.1, eps: 1e-5, relu: true, channelsLast: true)
        XCTAssertGreaterThan(y.filter { $0 == 0 }.count, x.count / 4, "the ReLU must cut")
        var results: [[Float]] = []
        for recompute in [false, true] {
            var dx = [Float](repeating: 0, count: x.count), dg = [Float](repeating: 0, count: c), db = dg
            y.withUnsafeBufferPointer { yp in
                beta.withUnsafeBufferPointer { bp in
                    BatchNormKernel.backwardTraining(
                        dx: &dx, dGamma: &dg, dBeta: &db, dy: dy, x: x, gamma: gamma, mean: mean, invStd: inv,
                        batch: n, channels: c, spatial: p, reluOutput: yp.baseAddress,
                        reluBeta: recompute ? bp.baseAddress : nil, channelsLast: true)
                }
            }
            results.append(dx + dg + db)
        }
        XCTAssertEqual(results[0].map(\.bitPattern), results[1].map(\.bitPattern))
    }

    /// The statistics over several row tiles per sample are the documented sums, bit for bit: per (sample, channel)
    /// a Float sum in row order (first Σx, then Σ(x − μ)²), then a Double sum over samples — on one and two workers.
    func testStatisticsAreRowOrderSumsAcrossTiles() {
        let (n, c, p) = (3, 20, 2000)  // 819 rows a tile: three tiles a sample, the last one partial
        let x = GradientCheck.random(n * c * p, seed: 11, scale: 3).map { $0 + 0.7 }  // channels-last
        var mean = [Float](repeating: 0, count: c), inv = mean
        for c0 in 0..<c {
            var sum = 0.0
            for s in 0..<n { var f: Float = 0; for i in 0..<p { f += x[(s * p + i) * c + c0] }; sum += Double(f) }
            mean[c0] = Float(sum / Double(n * p))
            var sq = 0.0
            for s in 0..<n {
                var f: Float = 0
                for i in 0..<p { let d = x[(s * p + i) * c + c0] - mean[c0]; f += d * d }
                sq += Double(f)
            }
            inv[c0] = Float(1 / (sq / Double(n * p) + 1e-5).squareRoot())
        }
        let gamma = [Float](repeating: 1, count: c), beta = [Float](repeating: 0, count: c)
        let saved = EngineContext.threads
        defer { EngineContext.threads = saved }
        for threads in [1, 2] {
            EngineContext.threads = threads
            var y = [Float](repeating: 0, count: x.count), m = [Float](repeating: 0, count: c), s = m
            var rm = m, rv = m
            BatchNormKernel.forwardTraining(
                y: &y, mean: &m, invStd: &s, x: x, gamma: gamma, beta: beta, runningMean: &rm, runningVar: &rv,
                batch: n, channels: c, spatial: p, momentum: 0.1, eps: 1e-5, channelsLast: true)
            XCTAssertEqual(m.map(\.bitPattern), mean.map(\.bitPattern), "mean, \(threads) worker(s)")
            XCTAssertEqual(s.map(\.bitPattern), inv.map(\.bitPattern), "invStd, \(threads) worker(s)")
        }
    }
}
