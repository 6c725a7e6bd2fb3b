import Foundation
import Plots

/// The plots of a sweep: accuracy against energy, area and latency (when the sweep measured accuracy), with every
/// point labelled by its activation width ("A4"), the points of one device (and ADC width) joined in bit order, the
/// Pareto front and the knee marked; energy, area and latency against the activation width. One colour per device
/// (`Palette.device`), the same in every plot; ADC widths differ by line style and marker.
extension Sweep {
    /// The chip settings every point of a sweep shares, for plot subtitles: "22 nm, 128×128 subarrays, SAR ADC per 8 columns".
    public static func sharedChip(_ base: CIMConfig) -> String {
        "\(base.node.rawValue) nm, \(base.subarrayRows)×\(base.subarrayColumns) subarrays, "
            + "\(base.adc.rawValue.uppercased()) ADC per \(base.columnsPerADC) columns"
    }

    /// - Parameters:
    ///   - knee: the knee to mark (`knee(rows)`); nil: computed here.
    ///   - subject: the plots' second title line: model, dataset and chip (e.g. "ResNet-20 on Fashion-MNIST · 22 nm, …").
    public static func plots(_ rows: [Row], knee: Knee? = nil, subject: String = "") -> [(file: String, svg: String)] {
        let costs = plottedCosts
        let knee = knee ?? Sweep.knee(rows)
        let devices = rows.reduce(into: [DeviceKind]()) { if !$0.contains($1.point.device) { $0.append($1.point.device) } }
        func series(x: (Row) -> Double, y: (Row) -> Double?, labelled: Bool) -> [SVGPlot.Series] {
            deviceSeries(rows, devices: devices, x: x, y: y, labelled: labelled)
        }
        let accuracy: (Row) -> Double? = { $0.accuracy }
        let kneeRow = knee.flatMap { k in
            rows.filter { $0.point.activationBits == k.activationBits && $0.accuracy != nil }
                .max { $0.accuracy! < $1.accuracy! }
        }
        let kneeName = knee.map { k in
            "knee: A\(k.activationBits)" + (devices.count > 1 ? kneeRow.map { " " + Palette.deviceName($0.point.device.rawValue) } ?? "" : "")
        }
        let bits = SVGPlot.Axis("activation bits")
        var out: [(String, String)] = []
        for c in costs {
            var p = SVGPlot(title: "\(c.title) vs activation bits", subtitle: subject, x: bits, y: c.axis,
                            series: series(x: { Double($0.point.activationBits) }, y: c.value, labelled: false))
            if let k = knee {
                p.knee = SVGPlot.Mark(x: Double(k.activationBits), y: .nan,
                                      label: "knee: A\(k.activationBits)" + (k.basis == "accuracy" ? "" : " (proxy)"))
                p.kneeAsLine = true
            }
            out.append(("\(c.file)_vs_abits.svg", p.render()))
        }
        if rows.contains(where: { $0.accuracy != nil }) {
            for c in costs {
                var p = SVGPlot(title: "Hardware-aware accuracy vs \(c.title.lowercased())", subtitle: subject, x: c.axis,
                                y: SVGPlot.Axis("hardware-aware test accuracy", quantity: .fraction),
                                series: series(x: c.value, y: accuracy, labelled: true))
                p.paretoFront = true
                if let r = kneeRow, let name = kneeName { p.knee = SVGPlot.Mark(x: c.value(r), y: r.accuracy!, label: name) }
                out.append(("accuracy_vs_\(c.file).svg", p.render()))
            }
        }
        return out
    }

    /// The costs plotted against the width and against accuracy: file stem, title, axis, value.
    static var plottedCosts: [(file: String, title: String, axis: SVGPlot.Axis, value: (Row) -> Double)] {
        [
            ("energy", "Energy per image", SVGPlot.Axis("energy per image", quantity: .energyPJ, scale: .auto), { $0.energy_pj }),
            ("area", "Chip area", SVGPlot.Axis("chip area", quantity: .areaMM2, scale: .auto), { $0.area_mm2 }),
            ("latency", "Latency per image", SVGPlot.Axis("latency per image", quantity: .timeNS, scale: .auto), { $0.latency_ns }),
        ]
    }

    /// One series per device (× ADC width when several: line style and marker tell them apart), points in order of
    /// activation bits.
    static func deviceSeries(_ rows: [Row], devices: [DeviceKind], x: (Row) -> Double, y: (Row) -> Double?,
                             labelled: Bool) -> [SVGPlot.Series] {
        let adcWidths = Array(Set(rows.map(\.point.adcBits))).sorted()
        let styles: [(SVGPlot.LineStyle, SVGPlot.Marker)] = [(.solid, .circle), (.dashed, .square), (.dotted, .triangle)]
        var out: [SVGPlot.Series] = []
        for d in devices {
            for (j, a) in adcWidths.enumerated() {
                let rs = rows.filter { $0.point.device == d && $0.point.adcBits == a && y($0) != nil }
                    .sorted { $0.point.activationBits < $1.point.activationBits }
                guard !rs.isEmpty else { continue }
                let name = Palette.deviceName(d.rawValue) + (adcWidths.count > 1 ? ", \(a)-bit ADC" : "")
                let (line, marker) = styles[j % styles.count]
                out.append(SVGPlot.Series(name: name, points: rs.map { (x($0), y($0)!) },
                                          labels: labelled ? rs.map { "A\($0.point.activationBits)" } : [],
                                          color: Palette.device(d.rawValue), line: line, marker: marker, sortByX: false))
            }
        }
        return out
    }
}
