import Plots

/// The run's curves from its metrics: loss, accuracy and throughput against epochs (x from 0), with the per-step
/// series (thin line, no markers) told apart from the per-epoch ones (markers) by style and legend.
public enum RunPlots {
    static let stepColor = "#9a9a9a", trainColor = "#333333", testColor = "#E69F00", hardwareColor = "#CC79A7"

    /// Steps per epoch for placing step lines on the epoch axis: `known`, else estimated from the epochs finished.
    static func stepsPerEpoch(_ r: RunRecord, known: Int?) -> Double {
        if let known, known > 0 { return Double(known) }
        if let e = r.epochs.last, let s = r.steps.last(where: { $0.epoch <= e.epoch }) { return Double(s.step) / Double(e.epoch) }
        return Double(max(r.steps.last?.step ?? 1, 1))
    }

    /// "SmallCNN on Fashion-MNIST · W1A4 · SRAM 22 nm, 5-bit ADC" (`full`: the whole chip description).
    public static func subject(_ r: RunRecord, full: Bool = false) -> String {
        var parts = [DisplayNames.model(r.setting("model.arch") ?? r.summary?.model ?? "model")
                        + " on " + DisplayNames.dataset(r.setting("data.dataset") ?? "?"),
                     DisplayNames.quantization(weights: r.setting("quant.weights"), activations: r.setting("quant.activations"),
                                               abits: r.setting("quant.abits"))]
        if let c = r.cim?.chip.config, !full {
            parts.append(DisplayNames.shortChip(device: c.device, node: c.node, adcBits: c.adc_bits))
        } else if let c = r.cim?.chip.config {
            parts.append(DisplayNames.chip(device: c.device, node: c.node, rows: c.subarray_rows, columns: c.subarray_columns,
                                           adcBits: c.adc_bits, adc: c.adc, columnsPerADC: c.columns_per_adc))
        }
        return parts.joined(separator: " · ")
    }

    public static func loss(_ r: RunRecord, stepsPerEpoch known: Int? = nil) -> SVGPlot {
        let spe = stepsPerEpoch(r, known: known)
        return SVGPlot(title: "\(r.name): loss", subtitle: subject(r), x: SVGPlot.Axis("epoch", includeZero: true),
                       y: SVGPlot.Axis("cross-entropy", includeZero: true), series: [
            SVGPlot.Series(name: "train, per logged step", points: r.steps.map { (Double($0.step) / spe, $0.loss) },
                           color: stepColor, line: .solid, marker: .none, lineWidth: 1.2),
            SVGPlot.Series(name: "train, epoch mean", points: r.epochs.map { (Double($0.epoch), $0.train_loss) },
                           color: trainColor, line: .solid, marker: .circle, lineWidth: 2),
            SVGPlot.Series(name: "test, after each epoch", points: r.epochs.map { (Double($0.epoch), $0.test_loss) },
                           color: testColor, line: .dashed, marker: .square, lineWidth: 2),
        ])
    }

    public static func accuracy(_ r: RunRecord) -> SVGPlot {
        var series = [
            SVGPlot.Series(name: "train, epoch mean", points: r.epochs.map { (Double($0.epoch), $0.train_accuracy) },
                           color: trainColor, line: .solid, marker: .circle, lineWidth: 2),
            SVGPlot.Series(name: "test (software)", points: r.epochs.map { (Double($0.epoch), $0.test_accuracy) },
                           color: testColor, line: .dashed, marker: .square, lineWidth: 2),
        ]
        let hw = r.epochs.compactMap { e in e.hardware_accuracy.map { (x: Double(e.epoch), y: $0) } }
        if !hw.isEmpty {
            series.append(SVGPlot.Series(name: "test on the CIM chip", points: hw, color: hardwareColor, line: .dotted,
                                         marker: .triangle, lineWidth: 2))
        }
        return SVGPlot(title: "\(r.name): accuracy", subtitle: subject(r), x: SVGPlot.Axis("epoch", includeZero: true),
                       y: SVGPlot.Axis("accuracy", quantity: .fraction), series: series)
    }

    public static func throughput(_ r: RunRecord, stepsPerEpoch known: Int? = nil) -> SVGPlot {
        let spe = stepsPerEpoch(r, known: known)
        return SVGPlot(title: "\(r.name): training throughput", subtitle: subject(r),
                       x: SVGPlot.Axis("epoch", includeZero: true), y: SVGPlot.Axis("images / s, all ranks", includeZero: true),
                       series: [
            SVGPlot.Series(name: "per logged step", points: r.steps.map { (Double($0.step) / spe, $0.images_per_s) },
                           color: stepColor, line: .solid, marker: .none, lineWidth: 1.2),
            SVGPlot.Series(name: "epoch mean", points: r.epochs.map { (Double($0.epoch), $0.images_per_s) },
                           color: trainColor, line: .solid, marker: .circle, lineWidth: 2),
        ])
    }
}
