import Foundation
import Plots
import XCTest

final class SVGPlotTests: XCTestCase {
    /// The tick labels of an SVG (text elements of the `ticks` group).
    static func tickLabels(_ svg: String) -> [String] {
        guard let a = svg.range(of: "<g class=\"ticks\""), let b = svg.range(of: "</g>", range: a.upperBound..<svg.endIndex)
        else { return [] }
        return svg[a.upperBound..<b.lowerBound].components(separatedBy: "<text").dropFirst().compactMap {
            guard let s = $0.firstIndex(of: ">"), let e = $0.range(of: "</text>") else { return nil }
            return String($0[$0.index(after: s)..<e.lowerBound])
        }
    }

    func sweepPlot() -> SVGPlot {
        // The Fashion-MNIST sweep of docs/results.md (SRAM and RRAM, energy in pJ, hardware-aware accuracy).
        let bits = [1, 2, 3, 4, 6, 8]
        let sram: [(x: Double, y: Double)] = [(369155, 0.8443), (513492, 0.8706), (659000, 0.8691), (805000, 0.8642),
                                              (1101000, 0.8672), (1400000, 0.8554)]
        let rram: [(x: Double, y: Double)] = [(593115, 0.8248), (962080, 0.7937), (1332000, 0.7883), (1703000, 0.7433),
                                              (2448000, 0.5817), (3197000, 0.3615)]
        var p = SVGPlot(title: "Hardware-aware accuracy vs energy", subtitle: "ResNet-20 on Fashion-MNIST · 22 nm",
                        x: .init("energy per image", quantity: .energyPJ, scale: .auto),
                        y: .init("hardware-aware test accuracy", quantity: .fraction),
                        series: [.init(name: "SRAM", points: sram, labels: bits.map { "A\($0)" }, color: Palette.device("sram"), sortByX: false),
                                 .init(name: "RRAM", points: rram, labels: bits.map { "A\($0)" }, color: Palette.device("rram"), sortByX: false)])
        p.paretoFront = true
        p.knee = .init(x: 513492, y: 0.8706, label: "knee: A2 SRAM")
        return p
    }

    func testSweepPlotHasNiceTicksUnitsLabelsFrontAndKnee() {
        let svg = sweepPlot().render()
        let ticks = Self.tickLabels(svg)
        XCTAssertEqual(ticks, ["0", "0.5", "1", "1.5", "2", "2.5", "3", "3.5",
                               "30", "40", "50", "60", "70", "80", "90"], "x in µJ, y in %")
        XCTAssert(svg.contains("energy per image (µJ)"), svg)
        XCTAssert(svg.contains("hardware-aware test accuracy (%)"))
        XCTAssertFalse(svg.contains("e+05"))
        for k in ["A1", "A4", "A8"] { XCTAssertEqual(svg.components(separatedBy: ">\(k)</text>").count - 1, 2, k) }
        XCTAssertEqual(svg.components(separatedBy: ">A2</text>").count - 1, 1, "the knee's label names SRAM's A2")
        XCTAssertEqual(svg.components(separatedBy: "class=\"pareto\"").count - 1, 1)
        XCTAssert(svg.contains("knee: A2 SRAM"))
        XCTAssert(svg.contains("ResNet-20 on Fashion-MNIST"))
        XCTAssertEqual(svg.components(separatedBy: "class=\"grid\"").count - 1, 1)
        // One colour per device.
        XCTAssert(svg.contains("stroke=\"\(Palette.device("sram")!)\"") && svg.contains("stroke=\"\(Palette.device("rram")!)\""))
    }

    func testLegendIsOutsideThePlotArea() throws {
        let svg = sweepPlot().render(width: 680, height: 420)
        // The frame rect follows the grid group; the legend's first x must lie right of it.
        let frame = try XCTUnwrap(svg.range(of: "</g>\n<rect x=\""))
        let nums = svg[frame.upperBound...].split(separator: "\"")
        let x = Double(nums[0])!, w = Double(nums[4])!
        let legend = try XCTUnwrap(svg.range(of: "<g class=\"legend\">\n<line x1=\""))
        let lx = Double(svg[legend.upperBound...].prefix { $0 != "\"" })!
        XCTAssertGreaterThan(lx, x + w)
    }

    func testLogAxisWhenTheDataSpanDecades() {
        let p = SVGPlot(title: "t", x: .init("activation bits"), y: .init("energy", quantity: .energyPJ, scale: .auto),
                        series: [.init(name: "s", points: [(1, 1e3), (2, 1e4), (3, 1e5), (4, 1e6)])])
        let svg = p.render()
        XCTAssert(svg.contains("energy (µJ), log scale"), svg)
        XCTAssertEqual(Self.tickLabels(svg), ["1", "2", "3", "4", "0.001", "0.01", "0.1", "1"])
    }

    func testPlainPlotEscapesAndSkipsNonFinitePoints() {
        let svg = SVGPlot(title: "a<b \"q\"", xLabel: "epoch", yLabel: "loss",
                          series: [.init(name: "train & test", points: [(1, 2), (2, 1), (3, .nan)])]).render()
        XCTAssert(svg.contains("a&lt;b &quot;q&quot;") && svg.contains("train &amp; test"))
        XCTAssertEqual(svg.components(separatedBy: "<circle class=\"pt\"").count - 1, 2)
    }
}
