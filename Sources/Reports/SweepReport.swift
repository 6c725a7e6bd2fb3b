import Foundation
import Plots

/// A sweep's `report.html`: the knee, accuracy against energy, area and latency (and the costs against the
/// activation width), and the table of points, each linking to its own run report.
public struct SweepReport {
    public struct Point {
        public var label: String
        /// The point's grid and evaluation settings, `key=value`.
        public var settings: [String]
        public var device: String
        public var abits: Int, adcBits: Int
        public var softwareAccuracy: Double
        public var hardwareAccuracy: Double?
        public var energyPJ: Double, areaMM2: Double, latencyNS: Double, topsPerW: Double
        public var trainImagesPerS: Double?
        /// The point's run report, relative to the sweep's folder (nil: none).
        public var link: String?

        public init(label: String, settings: [String], device: String, abits: Int, adcBits: Int, softwareAccuracy: Double,
                    hardwareAccuracy: Double?, energyPJ: Double, areaMM2: Double, latencyNS: Double, topsPerW: Double,
                    trainImagesPerS: Double?, link: String?) {
            self.label = label; self.settings = settings; self.device = device; self.abits = abits; self.adcBits = adcBits
            self.softwareAccuracy = softwareAccuracy; self.hardwareAccuracy = hardwareAccuracy; self.energyPJ = energyPJ
            self.areaMM2 = areaMM2; self.latencyNS = latencyNS; self.topsPerW = topsPerW
            self.trainImagesPerS = trainImagesPerS; self.link = link
        }
    }

    public var name: String
    /// Model, dataset and the chip settings the points share.
    public var subject: String
    /// The grid, e.g. "quant.abits = 1, 2, 4; hardware settings: cim.device = sram, rram".
    public var grid: String
    public var kneeBits: Int?
    public var kneeExplanation: String
    /// The sweep's SVG plots (file name, SVG), accuracy plots first.
    public var plots: [(file: String, svg: String)]
    public var points: [Point]

    public init(name: String, subject: String, grid: String, kneeBits: Int?, kneeExplanation: String,
                plots: [(file: String, svg: String)], points: [Point]) {
        self.name = name; self.subject = subject; self.grid = grid; self.kneeBits = kneeBits
        self.kneeExplanation = kneeExplanation; self.plots = plots; self.points = points
    }

    public func html() -> String {
        var page = HTMLPage(title: "Sweep \(name)", subtitle: subject)
        if let k = kneeBits {
            page.raw("<div class=\"knee\" id=\"knee\"><b>Knee: \(k)-bit activations</b> — \(escapeHTML(kneeExplanation)) "
                     + "(criterion: docs/cim.md §Knee).</div>\n")
        }
        page.paragraph("Grid: \(grid). \(points.count) point(s).", cls: "muted")
        let accuracy = plots.filter { $0.file.hasPrefix("accuracy_") }, costs = plots.filter { !$0.file.hasPrefix("accuracy_") }
        if !accuracy.isEmpty {
            page.section("accuracy", "Accuracy against hardware cost")
            page.figures(accuracy.map(\.svg))
            page.endSection()
        }
        page.section("points", "Points")
        let front = Set(Pareto.front(points.map { (x: $0.energyPJ, y: $0.hardwareAccuracy ?? $0.softwareAccuracy) }))
        var t = HTMLTable(id: "points", headers: ["point", "device", "A bits", "ADC bits", "software acc.", "hardware-aware acc.",
                                                  "energy / image", "area", "latency / image", "TOPS/W", "train img/s",
                                                  "Pareto (energy)"], textColumns: [0, 1, 11])
        let bestKnee = points.indices.filter { points[$0].abits == kneeBits }
            .max { (points[$0].hardwareAccuracy ?? points[$0].softwareAccuracy) < (points[$1].hardwareAccuracy ?? points[$1].softwareAccuracy) }
        // One unit per column, so that the rows compare at a glance.
        let eu = Quantity.energyPJ.unit(for: points.map(\.energyPJ)), au = Quantity.areaMM2.unit(for: points.map(\.areaMM2))
        let lu = Quantity.timeNS.unit(for: points.map(\.latencyNS))
        for (i, p) in points.enumerated() {
            t.add([.text(p.label, link: p.link),
                   .text(Palette.deviceName(p.device)), .number("\(p.abits)"), .number("\(p.adcBits)"),
                   .number(Quantity.fraction.format(p.softwareAccuracy)), .number(Quantity.fraction.format(p.hardwareAccuracy)),
                   .number(Quantity.energyPJ.format(p.energyPJ, in: eu)), .number(Quantity.areaMM2.format(p.areaMM2, in: au)),
                   .number(Quantity.timeNS.format(p.latencyNS, in: lu)), .number(String(format: "%.1f", p.topsPerW)),
                   .number(p.trainImagesPerS.map { String(format: "%.0f", $0) } ?? "–"),
                   .text(front.contains(i) ? "on the front" : "")],
                  cls: i == bestKnee ? "highlight" : "")
        }
        page.raw(t.render())
        page.paragraph("The highlighted row is the knee; each point's name opens its run report.", cls: "muted")
        page.endSection()
        if !costs.isEmpty {
            page.section("costs", "Hardware cost against activation width")
            page.figures(costs.map(\.svg))
            page.endSection()
        }
        return page.render()
    }
}
