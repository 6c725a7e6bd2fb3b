import CIMSimulator
import Foundation
import Models
import Quantization
import TensorEngine
import XCTest

final class SweepTests: XCTestCase {
    func testSplittingOverRanksGivesTheSameRows() throws {
        let shapes = try CostModelTests.shapes()
        let points = Sweep.points(devices: DeviceKind.allCases, activationBits: Array(1...4), adcBits: [3, 5])
        XCTAssertEqual(points.count, 24)
        var one: [Sweep.Row] = []
        for p in points { one.append(Sweep.analytic(p, shapes: shapes, base: CIMConfig())) }
        for ranks in [2, 3, 5] {
            // Ranks 1… first (their gather returns to nobody), then rank 0, whose gather sees every rank's part in
            // rank order, as MPI_Gather delivers it.
            var parts = [[Double]](repeating: [], count: ranks)
            for r in 0..<ranks {
                XCTAssertEqual(Sweep.indices(count: 24, rank: r, ranks: ranks).count, (24 - r + ranks - 1) / ranks)
            }
            for r in 1..<ranks {
                let rows = try Sweep.run(points: points, rank: r, ranks: ranks, gather: { parts[r] = $0; return $0 }) {
                    Sweep.analytic($0, shapes: shapes, base: CIMConfig())
                }
                XCTAssertNil(rows)
            }
            let rows = try XCTUnwrap(try Sweep.run(points: points, rank: 0, ranks: ranks,
                                                   gather: { parts[0] = $0; return parts.flatMap { $0 } }) {
                Sweep.analytic($0, shapes: shapes, base: CIMConfig())
            })
            XCTAssertEqual(Set(parts.map(\.count)).count, 1, "every rank sends the same length")
            XCTAssertEqual(rows, one)
            XCTAssertEqual(Sweep.csv(rows, base: CIMConfig()), Sweep.csv(one, base: CIMConfig()))
        }
        let csv = Sweep.csv(one, base: CIMConfig()).split(separator: "\n")
        XCTAssertEqual(csv.count, 25)
        XCTAssert(csv[1].hasPrefix("sram,1,3,mlsa,22,"))
    }

    func testResNet18ImageNetSweepOf72PointsIsFast() throws {
        let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4)
        let t0 = ProcessClock.now()
        let shapes = Mapping.layerShapes(of: try ModelZoo.make("resnet18", inputShape: [3, 224, 224], numClasses: 1000,
                                                               quant: policy))
        let t1 = ProcessClock.now()
        let points = Sweep.points(devices: DeviceKind.allCases, activationBits: Array(1...8), adcBits: [3, 4, 5])
        XCTAssertEqual(points.count, 72)
        let rows = points.map { Sweep.analytic($0, shapes: shapes, base: CIMConfig()) }
        let t2 = ProcessClock.now()
        print(String(format: "ResNet-18 224x224: shapes %.3f s, 72 points %.4f s", t1 - t0, t2 - t1))
        XCTAssertLessThan(t2 - t1, 1.0)
        XCTAssertEqual(rows.count, 72)
        XCTAssert(rows.allSatisfy { $0.energy_pj > 0 && $0.area_mm2 > 0 && $0.tops_per_w > 0 })
    }

    func testKneeWithAccuracyIsTheSmallestWidthNearTheBest() {
        func row(_ k: Int, _ acc: Double?) -> Sweep.Row {
            Sweep.Row(point: .init(device: .sram, activationBits: k, adcBits: 5), energy_pj: Double(k), array_pj: 0,
                      adc_pj: 0, area_mm2: 1, latency_ns: 1, images_per_s: 1, tops_per_w: 1, tops_per_mm2: 1,
                      accuracy: acc)
        }
        let accs = [0.70, 0.85, 0.895, 0.905, 0.909, 0.91, 0.908, 0.91]
        let knee = Sweep.knee((1...8).map { row($0, accs[$0 - 1]) })!
        XCTAssertEqual(knee.activationBits, 4)
        XCTAssertEqual(knee.basis, "accuracy")
        let proxy = Sweep.knee((1...8).map { row($0, nil) })!
        XCTAssertEqual(proxy.basis, "fidelity-proxy")
        XCTAssert((2...5).contains(proxy.activationBits))
    }

    func testDistortionFallsWithBits() {
        let d = (1...8).map { Sweep.quantizationDistortion(bits: $0) }
        for k in 1..<8 { XCTAssertLessThan(d[k], d[k - 1] / 2) }
        XCTAssertLessThan(d[0], 1); XCTAssertGreaterThan(d[7], 0)
    }

    func testParsingNamesTheFlag() throws {
        XCTAssertEqual(try Sweep.parseInts("1-3,5", flag: "--abits", range: 1...8), [1, 2, 3, 5])
        XCTAssertThrowsError(try Sweep.parseInts("0-9", flag: "--abits", range: 1...8)) { XCTAssert("\($0)".contains("--abits")) }
        XCTAssertThrowsError(try Sweep.parseInts("a", flag: "--adc-bits", range: 1...12)) { XCTAssert("\($0)".contains("--adc-bits")) }
        XCTAssertEqual(try Sweep.parseDevices("rram,sram", flag: "--devices"), [.rram, .sram])
        XCTAssertThrowsError(try Sweep.parseDevices("pcm", flag: "--devices")) { XCTAssert("\($0)".contains("--devices")) }
    }

    func testPlotsAreSVGWithOneSeriesPerDeviceAndADC() throws {
        let shapes = try CostModelTests.shapes()
        // A SAR ADC: its conversion time grows with its bits, so no two points share a latency (labels stay apart).
        var base = CIMConfig()
        base.adc = .sar
        let rows = Sweep.points(devices: [.sram, .rram], activationBits: [1, 2, 3], adcBits: [4, 5])
            .map { Sweep.analytic($0, shapes: shapes, base: base) }
        let plots = Sweep.plots(rows)
        XCTAssertEqual(plots.map(\.file), ["energy_vs_abits.svg", "area_vs_abits.svg", "latency_vs_abits.svg"])
        for p in plots {
            XCTAssert(p.svg.hasPrefix("<svg") && p.svg.hasSuffix("</svg>\n"))
            XCTAssertEqual(p.svg.components(separatedBy: "<g class=\"series\"").count - 1, 4)
            XCTAssert(p.svg.contains("class=\"knee\""), "the knee's width is marked")
        }
        var withAcc = rows
        for i in withAcc.indices { withAcc[i].accuracy = 0.8 + 0.02 * Double(withAcc[i].point.activationBits) }
        let all = Sweep.plots(withAcc, subject: "ResNet-20 on Fashion-MNIST")
        XCTAssertEqual(all.map(\.file).suffix(3), ["accuracy_vs_energy.svg", "accuracy_vs_area.svg", "accuracy_vs_latency.svg"])
        for p in all.suffix(3) {
            XCTAssert(p.svg.contains(">A3</text>"), p.file + ": the A3 point is labelled")
            XCTAssert(p.svg.contains("class=\"pareto\""), p.file + ": the Pareto front is drawn")
            XCTAssert(p.svg.contains("knee: A3"), p.file + ": the knee is marked")
            XCTAssert(p.svg.contains("ResNet-20 on Fashion-MNIST"))
            XCTAssert(p.svg.contains("SRAM, 4-bit ADC") && p.svg.contains("RRAM, 5-bit ADC"))
        }
    }
}
