import Foundation
import Quantization
import TensorEngine
import XCTest

final class ActivationQuantizerTests: XCTestCase {
    func run(_ q: ActivationQuantizer, _ x: [Float], training: Bool = true) -> [Float] {
        var y = [Float](repeating: .nan, count: x.count)
        x.withUnsafeBufferPointer { q.forward(y: &y, x: $0.baseAddress!, count: x.count, perSample: x.count, training: training) }
        return y
    }

    func inputs(_ n: Int, seed: UInt64) -> [Float] {
        var rng = RNG(seed: seed)
        return (0..<n).map { _ in max(rng.normal() * 1.3 + 0.2, 0) }  // post-ReLU
    }

    func testForwardHitsExactlyTheKBitLevelsAndRoundsToTheNearest() {
        for bits in 1...8 {
            let store = ParameterStore()
            let quantizers: [ActivationQuantizer] = [
                UniformSTEQuantizer(bits: bits), PACTQuantizer(bits: bits, store: store, name: "p"),
                LSQQuantizer(bits: bits, store: store, name: "l"), BWMAActivationQuantizer(bits: bits, store: store, name: "b"),
            ]
            store.finalize()
            quantizers.forEach { $0.initialize() }
            let x = inputs(997, seed: UInt64(bits)) + [0, 1e9]
            for q in quantizers {
                let y = run(q, x)
                let c = q.clip, delta = c / Float((1 << bits) - 1)
                for (xi, yi) in zip(x, y) {
                    let level = (yi / delta).rounded()
                    XCTAssertEqual(yi, level * delta, accuracy: delta * 1e-5, "\(type(of: q)) k=\(bits)")
                    XCTAssert(level >= 0 && level <= Float((1 << bits) - 1))
                    let clipped = min(max(xi, 0), c)
                    XCTAssertLessThanOrEqual(abs(yi - clipped), delta / 2 + delta * 1e-5, "not the nearest level")
                }
                XCTAssertEqual(y[x.count - 2], 0)
                XCTAssertEqual(y[x.count - 1], c, accuracy: c * 1e-6)
            }
        }
    }

    /// s(x) = x − (aΔ/2π)·sin(2πx/Δ) on [0, c], evaluated in Double.
    static func soft(_ x: Double, c: Double, levels: Int, a: Double) -> Double {
        let v = min(max(x, 0), c), delta = c / Double(levels)
        return v - a * delta / (2 * .pi) * sin(2 * .pi * v / delta)
    }

    func testBWMABackwardIsTheDerivativeOfTheSoftStaircase() {
        for (bits, a) in [(1, 0.5), (2, 0.5), (4, 0.5), (8, 0.5), (4, 0.0), (4, 1.0), (2, 0.25)] {
            let store = ParameterStore()
            let q = BWMAActivationQuantizer(bits: bits, store: store, name: "b", amplitude: Float(a))
            store.finalize()
            let x = inputs(300, seed: 40 + UInt64(bits))
            _ = run(q, x)
            let c = Double(q.clip), levels = (1 << bits) - 1
            let dy = [Float](repeating: 1, count: x.count)
            var dx = [Float](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { xp in
                q.backward(dx: &dx, dy: dy, x: xp.baseAddress!, count: x.count, perSample: x.count)
            }
            let eps = 1e-6 * c
            for i in 0..<x.count {
                let xi = Double(x[i])
                if xi <= eps || abs(xi - c) <= eps { continue }  // the kinks at 0 and c
                let fd = (Self.soft(xi + eps, c: c, levels: levels, a: a)
                          - Self.soft(xi - eps, c: c, levels: levels, a: a)) / (2 * eps)
                XCTAssertEqual(Double(dx[i]), fd, accuracy: 3e-3, "k=\(bits) a=\(a) x=\(xi)")
                if a == 0 { XCTAssertEqual(dx[i], xi > 0 && xi < c ? 1 : 0, "a = 0: the straight-through gradient") }
            }
        }
    }

    /// Every element's gradient is the same bits whether it falls in a 16-lane block or in a chunk's tail — so a
    /// run's bits do not depend on where the thread count puts the chunk boundaries. Each element alone (count 1:
    /// all tail) against the whole array (all blocks but the last 7).
    func testSoftStaircaseGradientIsTheSameInTheTailAsInTheLanes() {
        let x = inputs(16 * 40 + 7, seed: 91) + [-0.5, 0, 2.5]
        let dy = x.indices.map { Float($0 % 13) * 0.37 - 2 }
        var whole = [Float](repeating: .nan, count: x.count)
        QuantizationKernels.softStaircaseBackward(dx: &whole, dy: dy, x: x, count: x.count, clip: 2.5, levels: 15,
                                                  amplitude: 0.5)
        var mismatches = 0
        for i in x.indices {
            var one: Float = .nan
            QuantizationKernels.softStaircaseBackward(dx: &one, dy: [dy[i]], x: [x[i]], count: 1, clip: 2.5,
                                                      levels: 15, amplitude: 0.5)
            if one.bitPattern != whole[i].bitPattern { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0, "elements whose tail gradient differs from the lanes' bits")
        XCTAssertEqual(whole[x.count - 3], 0, "below the range")
        XCTAssertEqual(whole[x.count - 1], dy[x.count - 1] * 0.5, "at the clip, a level: 1 − a")
    }

    /// The AVX-512 kernel of the staircase's backward against the Swift lanes, bit for bit: random inputs around
    /// [0, c], the levels, the half-levels (ties of the rounding), ±0 and c itself, a tail off the 16 lanes, 2- and
    /// 4-bit grids, several amplitudes.
    func testSoftStaircaseKernelIsTheSwiftLanesBitForBit() throws {
        try XCTSkipUnless(QuantizationKernels.hasStaircaseKernel, "this CPU has no AVX-512")
        let c: Float = 2.5
        for levels in [3, 15] {
            let delta = c / Float(levels)
            let grid = (0...(2 * levels)).map { Float($0) * delta / 2 }
            let x = inputs(16 * 37 + 9, seed: 93).map { $0 * 1.6 - 0.5 } + grid + [0, -0.0, c, c.nextUp, -1e-30]
            let dy = x.indices.map { Float($0 % 17) * 0.29 - 2.3 }
            for amplitude: Float in [0, 0.37, 0.5, 0.8, 1] {
                var lanes = [Float](repeating: .nan, count: x.count), kernel = lanes
                QuantizationKernels.softStaircaseBackward(dx: &lanes, dy: dy, x: x, count: x.count, clip: c,
                                                          levels: levels, amplitude: amplitude, kernel: false)
                QuantizationKernels.softStaircaseBackward(dx: &kernel, dy: dy, x: x, count: x.count, clip: c,
                                                          levels: levels, amplitude: amplitude, kernel: true)
                let differ = x.indices.filter { lanes[$0].bitPattern != kernel[$0].bitPattern }
                XCTAssertEqual(differ.count, 0, "levels \(levels), a = \(amplitude): first at x = "
                               + "\(differ.first.map { x[$0] } ?? 0)")
                XCTAssertFalse(kernel.contains { $0.isNaN })
            }
        }
    }

    /// The staircase's backward fused with a block's masked input-gradient sum: the AVX-512 kernel's one pass
    /// against the two passes of the Swift lanes (staircase, then `ElementwiseKernels.addMasked`), bit for bit —
    /// inputs around [0, c], ±0, c, negative values (masked), a tail off the 16 lanes.
    func testFusedStaircaseAndMaskedSumIsTheTwoPassesBitForBit() throws {
        try XCTSkipUnless(QuantizationKernels.hasStaircaseKernel, "this CPU has no AVX-512")
        let c: Float = 1.7, levels = 15
        let x = inputs(16 * 29 + 11, seed: 95).map { $0 * 1.3 - 0.4 } + [0, -0.0, c, c.nextUp, -2]
        let dy = x.indices.map { Float($0 % 19) * 0.21 - 1.9 }
        let shortcut = x.indices.map { Float($0 % 7) * 0.33 - 1.1 }
        for amplitude: Float in [0.37, 0.5] {
            var kernel = [Float](repeating: .nan, count: x.count), twoPasses = kernel
            var dyKernel = dy, dyTwoPasses = dy
            QuantizationKernels.softStaircaseBackwardAddMasked(out: &kernel, dy: &dyKernel, x: x, shortcut: shortcut,
                                                               count: x.count, clip: c, levels: levels,
                                                               amplitude: amplitude, kernel: true)
            QuantizationKernels.softStaircaseBackwardAddMasked(out: &twoPasses, dy: &dyTwoPasses, x: x,
                                                               shortcut: shortcut, count: x.count, clip: c,
                                                               levels: levels, amplitude: amplitude, kernel: false)
            XCTAssertEqual(kernel.map(\.bitPattern), twoPasses.map(\.bitPattern), "a = \(amplitude)")
            XCTAssertEqual(kernel[x.count - 1], 0, "masked below zero")
            XCTAssertEqual(kernel[x.count - 2], shortcut[x.count - 2], "above the clip: the shortcut alone")
            XCTAssertTrue(kernel.contains { $0 != 0 })
        }
    }

    /// `quant.bwma_range: learned`: c starts at the rule's κ_k·rms of the first batch, is then the parameter's value
    /// (in training and evaluation alike), and its gradient is the staircase's derivative in c, summed by hand here.
    func testBWMALearnedClipStartsAtTheRuleAndHasTheStaircaseGradient() {
        let bits = 3, l = 7
        let store = ParameterStore()
        let q = BWMAActivationQuantizer(bits: bits, store: store, name: "b", learnedClip: true)
        store.finalize()
        XCTAssertEqual(q.parameters.count, 1)
        let x = inputs(64, seed: 91)
        _ = run(q, x)
        let rms = (x.map { Double($0 * $0) }.reduce(0, +) / Double(x.count)).squareRoot()
        let c0 = Double(q.learnedClip!.value[0])
        XCTAssertEqual(c0, Double(BWMAActivationQuantizer.kappa[bits - 1]) * rms, accuracy: 1e-5 * c0, "initialised by the rule")
        q.learnedClip!.value[0] = Float(c0 * 0.8)  // a learned value now rules, in evaluation too
        _ = run(q, x, training: false)
        XCTAssertEqual(Double(q.clip), c0 * 0.8, accuracy: 1e-6)
        _ = run(q, x)
        XCTAssertEqual(Double(q.clip), c0 * 0.8, accuracy: 1e-6, "training keeps the learned value")
        var dy = [Float](repeating: 0, count: x.count), dx = dy
        var rng = RNG(seed: 92)
        for i in dy.indices { dy[i] = rng.normal() }
        q.learnedClip!.grad[0] = 0
        x.withUnsafeBufferPointer { q.backward(dx: &dx, dy: dy, x: $0.baseAddress!, count: x.count, perSample: x.count) }
        let c = Double(q.clip), delta = c / Double(l)
        var want = 0.0
        for i in x.indices {
            let v = Double(x[i])
            if v >= c { want += Double(dy[i]) } else if v > 0 { want += Double(dy[i]) * ((v / delta).rounded() - v / delta) / Double(l) }
        }
        want /= (Double(x.count) * Double(l)).squareRoot()
        XCTAssertEqual(Double(q.learnedClip!.grad[0]), want, accuracy: 1e-4 * max(1, abs(want)))
        XCTAssertTrue(BWMAActivationQuantizer(bits: 3, store: ParameterStore(), name: "r").parameters.isEmpty, "the rule")
    }

    func testBWMARangeFollowsTheDataAndRunningStatisticInEval() {
        let store = ParameterStore()
        let q = BWMAActivationQuantizer(bits: 4, store: store, name: "b")
        store.finalize()
        let x = inputs(4000, seed: 3)
        let rms = (x.map { Double($0) * Double($0) }.reduce(0, +) / 4000).squareRoot()
        _ = run(q, x)
        XCTAssertEqual(Double(q.clip), 4.0994 * rms, accuracy: 1e-4 * rms)
        XCTAssertEqual(Double(q.runningRMS.values[0]), rms, accuracy: 1e-5)  // first batch initialises
        _ = run(q, x.map { $0 * 2 })  // running = 0.9·rms + 0.1·2rms
        XCTAssertEqual(Double(q.runningRMS.values[0]), 1.1 * rms, accuracy: 1e-5)
        _ = run(q, x.map { $0 * 10 }, training: false)
        XCTAssertEqual(Double(q.clip), 4.0994 * 1.1 * rms, accuracy: 1e-4 * rms)  // eval: running statistic
    }

    func testBaselineGradientRules() {
        let store = ParameterStore()
        let pact = PACTQuantizer(bits: 2, store: store, name: "p")
        let lsq = LSQQuantizer(bits: 2, store: store, name: "l")
        store.finalize()
        pact.initialize()
        let x: [Float] = [0, 0.4, 2, 5.9, 6.5, 9]
        let dy: [Float] = [1, 2, 3, 4, 5, 6]
        var dx = [Float](repeating: 0, count: 6)
        _ = run(pact, x)
        pact.backward(dx: &dx, dy: dy, x: x, count: 6, perSample: 6)
        XCTAssertEqual(dx, [1, 2, 3, 4, 0, 0])  // straight through inside [0, α = 6]
        XCTAssertEqual(pact.alpha.grads[0], 11)  // Σ dy over x > α

        let ste = UniformSTEQuantizer(bits: 3)
        ste.backward(dx: &dx, dy: dy, x: [0, 0.5, 1, 1.01, 3, 0.2], count: 6, perSample: 6)
        XCTAssertEqual(dx, [1, 2, 3, 0, 0, 6])

        // LSQ: s from the first batch = 2·mean|x|/√3; ds = g·Σ dy·(round(v) − v inside, Q above), g = 1/√(6·3).
        _ = run(lsq, x)
        let s = lsq.step.values[0]
        XCTAssertEqual(s, 2 * (x.reduce(0, +) / 6) / Float(3).squareRoot(), accuracy: 1e-5)
        lsq.backward(dx: &dx, dy: dy, x: x, count: 6, perSample: 6)
        var expected: Float = 0
        for (xi, d) in zip(x, dy) {
            let v = xi / s
            if v >= 3 { expected += d * 3 } else if v > 0 { expected += d * (v.rounded(.toNearestOrEven) - v) }
        }
        XCTAssertEqual(lsq.step.grads[0], expected / Float(18).squareRoot(), accuracy: 1e-4)
    }

    func testPolicyDefaultsAndOverrides() throws {
        let p = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4, overrides: ["layer3.*=w1a8", "layer1.0.conv1=fp32"])
        XCTAssertFalse(p.spec(for: "conv1", role: .first).isQuantized)
        XCTAssertFalse(p.spec(for: "fc", role: .last).isQuantized)
        let mid = p.spec(for: "layer2.0.conv1", role: .middle)
        XCTAssertEqual(mid.weights?.kind, .bwma)
        XCTAssertEqual(mid.activationBits, 4)
        XCTAssertEqual(p.spec(for: "layer3.1.conv2", role: .middle).activationBits, 8)
        XCTAssertFalse(p.spec(for: "layer1.0.conv1", role: .middle).isQuantized)
        XCTAssertThrowsError(try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4, overrides: ["x=a9"]))
        XCTAssertThrowsError(try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4, overrides: ["nonsense"]))
        XCTAssertFalse(QuantPolicy.fp32.spec(for: "layer1.0.conv1", role: .middle).isQuantized)
    }
}

/// The integer view the CIM datapath uses: every forward output is code·Δ with code in 0…2ᵏ − 1.
final class ActivationCodeTests: XCTestCase {
    func testCodesTimesStepReproduceTheForwardOutput() {
        for bits in 1...8 {
            let store = ParameterStore()
            let quantizers: [ActivationQuantizer] = [
                UniformSTEQuantizer(bits: bits), PACTQuantizer(bits: bits, store: store, name: "p"),
                LSQQuantizer(bits: bits, store: store, name: "l"), BWMAActivationQuantizer(bits: bits, store: store, name: "b"),
            ]
            store.finalize()
            quantizers.forEach { $0.initialize() }
            var rng = RNG(seed: UInt64(100 + bits))
            let x = (0..<2000).map { _ in max(rng.normal() * 1.5 + 0.3, 0) } + [0, 1e9]
            for q in quantizers {
                var y = [Float](repeating: .nan, count: x.count)
                x.withUnsafeBufferPointer { q.forward(y: &y, x: $0.baseAddress!, count: x.count, perSample: x.count, training: true) }
                XCTAssertEqual(q.levelCount, (1 << bits) - 1)
                XCTAssertEqual(q.quantizationStep, q.clip / Float((1 << bits) - 1))
                var seen = Set<Int>()
                for v in y {
                    let c = q.code(ofQuantized: v)
                    XCTAssert((0...q.levelCount).contains(c), "\(type(of: q)) k=\(bits): code \(c) out of range")
                    // The kernel computes code·Δ with Δ = c/L in Float: the same product must come back.
                    XCTAssertEqual(Float(c) * (q.clip / Float(q.levelCount)), v, "\(type(of: q)) k=\(bits)")
                    seen.insert(c)
                }
                XCTAssert(seen.contains(0) && seen.contains(q.levelCount), "both ends of the grid are reached")
            }
        }
    }
}
