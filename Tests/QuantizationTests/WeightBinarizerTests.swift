import Quantization
import TensorEngine
import XCTest

final class WeightBinarizerTests: XCTestCase {
    /// Minimum of ‖w − (αB + β)‖² over all sign patterns B (optionally balanced), with α, β solved exactly per
    /// pattern (least squares: each level is its group's mean).
    static func bruteForce(_ w: [Double], balanced: Bool) -> Double {
        let n = w.count
        var best = Double.infinity
        for mask in 0..<(1 << n) {
            let up = mask.nonzeroBitCount
            if balanced && !(up == n / 2 || up == (n + 1) / 2) { continue }
            var su = 0.0, sl = 0.0
            for i in 0..<n { if mask >> i & 1 == 1 { su += w[i] } else { sl += w[i] } }
            let mu = up > 0 ? su / Double(up) : 0, ml = up < n ? sl / Double(n - up) : 0
            var sse = 0.0
            for i in 0..<n { let d = w[i] - (mask >> i & 1 == 1 ? mu : ml); sse += d * d }
            best = min(best, sse)
        }
        return best
    }

    func binarize(_ w: [Float], _ kind: WeightBinarizer.Kind) -> ([Float], WeightBinarizer.Group) {
        var wq = [Float](repeating: .nan, count: w.count), scratch = wq
        let g = w.withUnsafeBufferPointer { wp in
            WeightBinarizer(kind: kind).binarize(wp.baseAddress!, w.count, into: &wq, scratch: &scratch)
        }
        return (wq, g)
    }

    func sse(_ w: [Float], _ wq: [Float]) -> Double {
        zip(w, wq).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) }
    }

    func testBWMAClosedFormsEqualBruteForceOptimum() {
        var rng = RNG(seed: 11)
        for trial in 0..<60 {
            let n = trial < 50 ? 2 + trial % 13 : 16
            // Mixed distributions: Gaussian, skewed, with duplicates.
            let w: [Float] = (0..<n).map { i in
                switch trial % 3 {
                case 0: return rng.normal()
                case 1: return exp(rng.normal())
                default: return Float(rng.below(4)) * 0.5 + (i == 0 ? 0.25 : 0)
                }
            }
            for (kind, balanced) in [(WeightBinarizer.Kind.bwma, true), (.bwmaOptimal, false)] {
                let (wq, g) = binarize(w, kind)
                let optimum = Self.bruteForce(w.map(Double.init), balanced: balanced)
                XCTAssertEqual(sse(w, wq), optimum, accuracy: 1e-5 * (1 + optimum), "trial \(trial) n \(n) \(kind)")
                XCTAssertGreaterThanOrEqual(g.alpha, 0)
                // Every output is one of the two levels, and a balanced split has balanced counts.
                let hi = g.beta + g.alpha, lo = g.beta - g.alpha
                XCTAssert(wq.allSatisfy { $0 == hi || $0 == lo })
                if balanced && g.alpha > 0 {
                    let ups = wq.filter { $0 == hi }.count
                    XCTAssert(ups == n / 2 || ups == (n + 1) / 2, "unbalanced: \(ups) of \(n)")
                }
            }
        }
    }

    /// Large vectors (the selection-based balanced path): the error equals that of the best balanced split found
    /// by sorting.
    func testBalancedSelectionMatchesSortedSplitOnLargeVectors() {
        var rng = RNG(seed: 21)
        // Continuous values, and (the selection's equal-to-pivot part) a few values repeated thousands of times.
        for (n, few) in [(10_000, false), (10_001, false), (36_865, false), (9_999, true), (12_000, true)] {
            let w = (0..<n).map { _ in
                few ? [-1, 0, 0.5, 0.5, 2][Int(rng.below(5))] : rng.normal() * 0.1 + (rng.uniform() < 0.2 ? 0.3 : 0)
            }
            let (wq, _) = binarize(w, .bwma)
            let sorted = w.map(Double.init).sorted()
            var best = Double.infinity
            for l in Set([n / 2, (n + 1) / 2]) {
                let lo = sorted[..<l], hi = sorted[l...]
                let ml = lo.reduce(0, +) / Double(lo.count), mh = hi.reduce(0, +) / Double(hi.count)
                best = min(best, lo.map { ($0 - ml) * ($0 - ml) }.reduce(0, +) + hi.map { ($0 - mh) * ($0 - mh) }.reduce(0, +))
            }
            XCTAssertEqual(sse(w, wq), best, accuracy: 1e-4 * best, "n = \(n)")
        }
    }

    /// The balanced split's rank statistics on layouts that the sampled bracket (n ≥ 2,048) handles in different
    /// ways — typical weights, sorted either way, heavy ties, and outliers at exactly the sampled positions (the
    /// bracket then misses rank k and the full selection runs): the threshold and lower count are the sorted
    /// split's, and α, β its levels, for even and odd n.
    func testBalancedSplitRankStatisticsOnBracketLayouts() throws {
        var rng = RNG(seed: 5)
        for n in [2048, 4608, 4609, 9001] {
            let stride = n / 128
            let layouts: [(String, [Float])] = [
                ("normal", (0..<n).map { _ in rng.normal() * 0.05 }),
                ("ascending", (0..<n).map { Float($0) / Float(n) - 0.3 }),
                ("descending", (0..<n).map { 0.7 - Float($0) / Float(n) }),
                ("ties", (0..<n).map { _ in [-0.1, 0, 0, 0, 0.2][Int(rng.below(5))] }),
                ("outliers", (0..<n).map { $0 % stride == stride / 2 ? -50 : rng.normal() }),
            ]
            for (name, w) in layouts {
                let (_, g) = binarize(w, .bwma)
                let sorted = w.sorted(), k = n / 2
                let l = try XCTUnwrap(g.lowerCount)
                XCTAssertTrue(l == k || (n % 2 == 1 && l == k + 1), "\(name) n \(n): lower count \(l)")
                XCTAssertEqual(g.threshold, sorted[l], "\(name) n \(n): threshold")
                let lower = sorted[..<l].reduce(0.0) { $0 + Double($1) }
                let upper = sorted[l...].reduce(0.0) { $0 + Double($1) }
                let a = lower / Double(l), b = upper / Double(n - l)
                XCTAssertEqual(Double(g.alpha), (b - a) / 2, accuracy: 1e-6 * max(abs(b - a), 1e-3), "\(name) α")
                XCTAssertEqual(Double(g.beta), (a + b) / 2, accuracy: 1e-6 * max(abs(a) + abs(b), 1e-3), "\(name) β")
            }
        }
    }

    func testBalancedClosedFormIsMedianSplitWithMeanOffset() {
        // Even n: β = mean(W), α = mean|W − median|.
        let w: [Float] = [3, -1, 0.5, 7, 2, -4]
        let (_, g) = binarize(w, .bwma)
        let mean = w.reduce(0, +) / 6
        let median: Float = (0.5 + 2) / 2
        XCTAssertEqual(g.beta, mean, accuracy: 1e-6)
        XCTAssertEqual(g.alpha, w.map { abs($0 - median) }.reduce(0, +) / 6, accuracy: 1e-6)
    }

    func testBWNBaseline() {
        let w: [Float] = [0.5, -1.5, 0, 2]
        let (wq, g) = binarize(w, .bwn)
        XCTAssertEqual(g.alpha, 1)  // mean |W|
        XCTAssertEqual(g.beta, 0)
        XCTAssertEqual(wq, [1, -1, 1, 1])  // sign(0) = +1
    }

    func testEdgeCasesAllEqualZerosAndSingleWeight() {
        for kind in WeightBinarizer.Kind.allCases {
            let (wq, g) = binarize([0.3, 0.3, 0.3, 0.3], kind)
            if kind == .bwn { XCTAssertEqual(wq, [0.3, 0.3, 0.3, 0.3]) } else {
                XCTAssertEqual(g.alpha, 0); XCTAssertEqual(wq, [0.3, 0.3, 0.3, 0.3])
            }
            let (z, _) = binarize([0, 0, 0], kind)
            XCTAssertEqual(z, [0, 0, 0])
            let (one, _) = binarize([-2], kind)
            XCTAssertEqual(one[0], kind == .bwn ? -2 : -2)
        }
    }

    func testPerChannelGroupsAreIndependent() {
        let w: [Float] = [1, 2, 3, 4, -10, -20, -30, -40]
        var wq = [Float](repeating: 0, count: 8), scratch = wq
        var groups: [WeightBinarizer.Group] = []
        WeightBinarizer(kind: .bwma, perChannel: true).binarize(latent: w, count: 8, outChannels: 2, into: &wq,
                                                                 groups: &groups, scratch: &scratch)
        XCTAssertEqual(groups.count, 2)
        XCTAssertEqual(wq, [1.5, 1.5, 3.5, 3.5, -15, -15, -35, -35])
    }

    func testStraightThroughRuleClipsOutsideTheWindowAndScaleTermsSumCorrectly() {
        let w: [Float] = [-3, -0.5, 0.2, 0.4, 5]
        var wq = [Float](repeating: 0, count: 5), scratch = wq
        var groups: [WeightBinarizer.Group] = []
        let b = WeightBinarizer(kind: .bwma, steClip: 1)
        b.binarize(latent: w, count: 5, outChannels: 1, into: &wq, groups: &groups, scratch: &scratch)
        let dWq: [Float] = [1, 1, 1, 1, 1]
        var grad = [Float](repeating: 0, count: 5)
        b.backward(latent: w, count: 5, dWq: dWq, groups: groups, grad: &grad)
        let g = groups[0]
        for i in 0..<5 { XCTAssertEqual(grad[i], abs(w[i] - g.threshold) <= g.alpha ? 1 : 0, "weight \(i)") }
        // Through α and β with a constant upstream gradient: β-term Σd/n = 1 each; α-term Σ d·B / n · Bᵢ.
        let withScale = WeightBinarizer(kind: .bwma, steClip: 0, gradientThroughScale: true)
        var grad2 = [Float](repeating: 0, count: 5)
        withScale.backward(latent: w, count: 5, dWq: dWq, groups: groups, grad: &grad2)
        let signs: [Float] = w.map { $0 >= g.threshold ? 1 : -1 }
        let sb = signs.reduce(0, +) / 5
        for i in 0..<5 { XCTAssertEqual(grad2[i], 1 + 1 + sb * signs[i], accuracy: 1e-6) }
    }
}
