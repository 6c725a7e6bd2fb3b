import Sweeps
import Training
import XCTest

final class SweepPlanTests: XCTestCase {
    func testCartesianOrderLabelsAndOverrides() throws {
        let p = try SweepPlan(grid: ["quant.abits=1,2,4", "cim.device=sram,rram"])
        XCTAssertEqual(p.count, 6)
        XCTAssertEqual(p.overrides(0), ["quant.abits=1", "cim.device=sram"])
        XCTAssertEqual(p.overrides(1), ["quant.abits=1", "cim.device=rram"])
        XCTAssertEqual(p.overrides(5), ["quant.abits=4", "cim.device=rram"])
        XCTAssertEqual(p.label(3), "abits-2_device-rram")
        XCTAssertEqual(Set((0..<6).map(p.label)).count, 6, "labels are distinct folder names")
    }

    func testBadGridsNameTheProblem() {
        for (spec, needle) in [(["quant.abits"], "key.path=value1"), (["quant.abits=1,,2"], "comma-separated"),
                               (["quant.abits=1,1"], "distinct"), (["a=1", "a=2"], "one --grid"), ([], "at least one")] {
            XCTAssertThrowsError(try SweepPlan(grid: spec)) { XCTAssertTrue("\($0)".contains(needle), "\(spec): \($0)") }
        }
    }

    /// Every point is trained by exactly one group; groups are blocks of consecutive ranks of nearly equal size.
    func testSchedulingCoversEveryPointOnce() {
        for ranks in 1...7 {
            for points in 1...9 {
                let g = SweepPlan.groups(points: points, ranks: ranks)
                XCTAssertEqual(g, min(points, ranks))
                let groupOf = (0..<ranks).map { SweepPlan.group(ofRank: $0, ranks: ranks, groups: g) }
                XCTAssertEqual(groupOf, groupOf.sorted(), "consecutive ranks")
                XCTAssertEqual(Set(groupOf), Set(0..<g), "no empty group")
                let sizes = (0..<g).map { k in groupOf.filter { $0 == k }.count }
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
                let all = (0..<g).flatMap { SweepPlan.points(ofGroup: $0, groups: g, points: points) }
                XCTAssertEqual(all.sorted(), Array(0..<points))
            }
        }
    }
}
