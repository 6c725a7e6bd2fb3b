import Plots
import XCTest

/// Tick values of the 1-2-5 algorithm. Expected values worked out by hand: step = the 1-2-5 number nearest
/// range / 5 on a log scale, bounds = the multiples of the step enclosing the data.
final class NiceScaleTests: XCTestCase {
    func testNiceStepRoundsToOneTwoFive() {
        XCTAssertEqual(NiceScale.niceStep(1.4), 1)
        XCTAssertEqual(NiceScale.niceStep(1.5), 2)
        XCTAssertEqual(NiceScale.niceStep(3.0), 2)
        XCTAssertEqual(NiceScale.niceStep(3.2), 5)
        XCTAssertEqual(NiceScale.niceStep(7.1), 10)
        XCTAssertEqual(NiceScale.niceStep(0.112), 0.1, accuracy: 1e-15)
        XCTAssertEqual(NiceScale.niceStep(2.1e5), 2e5)
    }

    func testTheSweepAccuracyRangeGetsTenthTicks() {
        // The accuracies of the old plot: 0.336 ... 0.8961 had ticks 0.336 / 0.476 / 0.616 / 0.7561 / 0.8961.
        let t = NiceScale.linear(0.336, 0.8961)
        XCTAssertEqual(t.step, 0.1, accuracy: 1e-15)
        XCTAssertEqual(t.values, [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
        XCTAssertEqual(t.values.map { NiceScale.label($0, step: t.step) }, ["0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"])
    }

    func testEnergyInMicrojoulesAndEpochsFromZero() {
        // 0.369 ... 1.4 µJ (the Fashion-MNIST sweep after unit conversion): step 0.2.
        let e = NiceScale.linear(0.369, 1.4)
        XCTAssertEqual(e.values, [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4])
        XCTAssertEqual(e.values.map { NiceScale.label($0, step: e.step) }, ["0.2", "0.4", "0.6", "0.8", "1", "1.2", "1.4"])
        // A 3-epoch run with the x axis from 0.
        XCTAssertEqual(NiceScale.linear(0, 3).values, [0, 0.5, 1, 1.5, 2, 2.5, 3])
        XCTAssertEqual(NiceScale.linear(0, 10).values, [0, 2, 4, 6, 8, 10])
        XCTAssertEqual(NiceScale.linear(0, 100).values, [0, 20, 40, 60, 80, 100])
        XCTAssertEqual(NiceScale.linear(-3, 7).values, [-4, -2, 0, 2, 4, 6, 8])
    }

    /// SplitMix64: a seeded generator, so the test draws the same ranges on every run.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Bounds one ulp outside a tick (far from zero, where an ulp is near the step's decimals): the ticks still
    /// enclose them.
    func testBoundsAnUlpPastATickAreEnclosed() {
        for k in stride(from: -9_978_680_400.0, through: -9_978_680_390.0, by: 1) {
            let tick = k / 10_000  // -997868.04 …, on a 1e-4 grid
            for (lo, hi) in [(tick - 3e-4, tick.nextUp), (tick.nextDown, tick + 3e-4)] {
                let t = NiceScale.linear(lo, hi)
                XCTAssertLessThanOrEqual(t.lower, lo, "[\(lo), \(hi)]")
                XCTAssertGreaterThanOrEqual(t.upper, hi, "[\(lo), \(hi)]")
            }
        }
    }

    func testEveryStepIsOneTwoOrFiveTimesAPowerOfTen() {
        var rng = SeededGenerator(state: 2026)
        for _ in 0..<2000 {
            let lo = Double.random(in: -1e6...1e6, using: &rng), w = pow(10, Double.random(in: -6...6, using: &rng))
            let t = NiceScale.linear(lo, lo + w)
            let m = t.step / pow(10, floor(log10(t.step) + 1e-9))
            XCTAssert([1, 2, 5, 10].contains { abs(m - $0) < 1e-9 }, "step \(t.step) for [\(lo), \(lo + w)]")
            XCTAssertLessThanOrEqual(t.lower, lo); XCTAssertGreaterThanOrEqual(t.upper, lo + w)
            XCTAssert((3...12).contains(t.values.count), "\(t.values.count) ticks for [\(lo), \(lo + w)]")
        }
    }

    func testDegenerateRangeIsWidened() {
        let t = NiceScale.linear(0.5, 0.5)
        XCTAssertLessThan(t.lower, 0.5); XCTAssertGreaterThan(t.upper, 0.5)
        XCTAssertEqual(NiceScale.linear(0, 0).values.first, -1)
    }

    func testLogTicks() {
        // Five decades: powers of ten only.
        XCTAssertEqual(NiceScale.log(3.2, 4.1e4), [1, 10, 100, 1000, 1e4, 1e5])
        // Short ranges get 1-2-5 within the decades, trimmed to enclose the data.
        XCTAssertEqual(NiceScale.log(0.37, 3.2), [0.2, 0.5, 1, 2, 5])
        XCTAssertEqual(NiceScale.log(30, 800), [20, 50, 100, 200, 500, 1000])
        XCTAssertEqual([0.02, 500, 1000, 1e5].map(NiceScale.logLabel), ["0.02", "500", "1000", "100000"])
    }
}
