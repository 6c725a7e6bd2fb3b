import Plots
import XCTest

final class QuantityTests: XCTestCase {
    func testUnitsKeepTheLargestValueBetweenOneAndAThousand() {
        XCTAssertEqual(Quantity.energyPJ.unit(for: [3.692e5, 1.4e6]).symbol, "µJ")
        XCTAssertEqual(Quantity.energyPJ.unit(for: [120, 900]).symbol, "pJ")
        XCTAssertEqual(Quantity.energyPJ.unit(for: [2.5e3]).symbol, "nJ")
        XCTAssertEqual(Quantity.timeNS.unit(for: [331_497, 2.55e6]).symbol, "ms")
        XCTAssertEqual(Quantity.timeNS.unit(for: [900]).symbol, "ns")
        XCTAssertEqual(Quantity.areaMM2.unit(for: [0.54, 0.64]).symbol, "mm²")
        XCTAssertEqual(Quantity.areaMM2.unit(for: [0.004]).symbol, "µm²")
        XCTAssertEqual(Quantity.fraction.unit(for: [0.5]).symbol, "%")
    }

    func testFormatting() {
        XCTAssertEqual(Quantity.energyPJ.format(369_155), "369 nJ")
        let column = Quantity.energyPJ.unit(for: [369_155, 1_400_000])
        XCTAssertEqual(Quantity.energyPJ.format(369_155, in: column), "0.369 µJ", "one unit per table column")
        XCTAssertEqual(Quantity.energyPJ.format(1_400_000), "1.40 µJ")
        XCTAssertEqual(Quantity.timeNS.format(649_128), "649 µs")
        XCTAssertEqual(Quantity.areaMM2.format(0.537581), "0.538 mm²")
        XCTAssertEqual(Quantity.fraction.format(0.8706), "87.06 %")
        XCTAssertEqual(Quantity.fraction.format(nil), "–")
    }

    func testParetoFront() {
        // (energy, accuracy): the third point costs more and is worse than the second.
        let pts: [(x: Double, y: Double)] = [(1, 0.84), (2, 0.87), (3, 0.86), (4, 0.87), (5, 0.88), (0.5, .nan)]
        XCTAssertEqual(Pareto.front(pts), [0, 1, 4])
        XCTAssertEqual(Pareto.front([]), [])
    }
}
