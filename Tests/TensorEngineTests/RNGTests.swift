import TensorEngine
import XCTest

final class RNGTests: XCTestCase {
    func testSameSeedSameStreamAndDifferentStreamsDiffer() {
        var a = RNG(seed: 42), b = RNG(seed: 42), c = RNG(seed: 42, stream: 1)
        let sa = (0..<8).map { _ in a.next() }, sb = (0..<8).map { _ in b.next() }, sc = (0..<8).map { _ in c.next() }
        XCTAssertEqual(sa, sb)
        XCTAssertNotEqual(sa, sc)
    }

    func testUniformAndNormalMoments() {
        var r = RNG(seed: 1)
        let n = 200_000
        var su = 0.0, sn = 0.0, sn2 = 0.0
        for _ in 0..<n {
            let u = r.uniform()
            XCTAssert(u >= 0 && u < 1)
            su += Double(u)
            let z = Double(r.normal())
            sn += z; sn2 += z * z
        }
        // Standard errors: 0.29/√n ≈ 6.5e-4 for the uniform mean, 1/√n ≈ 2.2e-3 for the normal mean, ~3.2e-3 var.
        XCTAssertEqual(su / Double(n), 0.5, accuracy: 4e-3)
        XCTAssertEqual(sn / Double(n), 0, accuracy: 1.2e-2)
        XCTAssertEqual(sn2 / Double(n), 1, accuracy: 2e-2)
    }

    func testPermutationIsAPermutationAndSeeded() {
        var a = RNG(seed: 3), b = RNG(seed: 3)
        let p = a.permutation(1000)
        XCTAssertEqual(p.sorted(), Array(0..<1000))
        XCTAssertEqual(p, b.permutation(1000))
        XCTAssertNotEqual(p, Array(0..<1000))
    }
}
