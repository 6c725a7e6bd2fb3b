import TensorEngine
import TestSupport
import XCTest

/// Channels-last max pooling against the NCHW kernels on the same data (transposed): the same outputs, the same
/// winners (ties in window order, NaN, padding) and the same input gradient.
final class PoolingChannelsLastTests: XCTestCase {
    func testMaxPoolingMatchesThePlanarKernels() {
        // (n, c, h, w, kernel, stride, padding): ResNet-18's stem pool, a non-overlapping one, odd sizes.
        for (n, c, h, w, k, s, p) in [(2, 20, 9, 9, 3, 2, 1), (3, 16, 8, 6, 2, 2, 0), (1, 5, 7, 5, 3, 1, 1)] {
            let g = ConvGeometry(channels: c, height: h, width: w, kernel: (k, k), stride: (s, s), padding: (p, p))
            var x = GradientCheck.random(n * c * h * w, seed: UInt64(c))
            // Ties (coarse values) and a NaN.
            for i in stride(from: 0, to: x.count, by: 3) { x[i] = (x[i] * 2).rounded() / 2 }
            x[7] = .nan
            let dy = GradientCheck.random(n * c * g.outPixels, seed: UInt64(c + 1))
            var y = [Float](repeating: 0, count: dy.count), yl = y
            var arg = [PoolingKernels.Winner](repeating: 0, count: dy.count), argl = arg
            var dx = [Float](repeating: 0, count: x.count), dxl = dx
            PoolingKernels.maxForward(y: &y, argmax: &arg, x: x, batch: n, geometry: g)
            PoolingKernels.maxBackward(dx: &dx, dy: dy, argmax: arg, batch: n, geometry: g)
            let xl = Layouts.transpose(x, n, c, h * w, toChannelsLast: true)
            let dyl = Layouts.transpose(dy, n, c, g.outPixels, toChannelsLast: true)
            PoolingKernels.maxForwardChannelsLast(y: &yl, argmax: &argl, x: xl, batch: n, geometry: g)
            PoolingKernels.maxBackwardChannelsLast(dx: &dxl, dy: dyl, argmax: argl, batch: n, geometry: g)
            let what = "n \(n) c \(c) \(h)x\(w) k \(k) s \(s) p \(p)"
            let ylp = Layouts.transpose(yl, n, c, g.outPixels, toChannelsLast: false)
            XCTAssertEqual(ylp.map(\.bitPattern), y.map(\.bitPattern), "\(what): outputs")
            XCTAssertEqual(Layouts.transpose(argl.map(Float.init), n, c, g.outPixels, toChannelsLast: false),
                           arg.map(Float.init), "\(what): winners")
            XCTAssertEqual(Layouts.transpose(dxl, n, c, h * w, toChannelsLast: false), dx, "\(what): input gradient")
            XCTAssertTrue(y.contains { $0.isNaN }, "the NaN must win its windows")
        }
    }
}
