import CIMSimulator
import Foundation
import Reports
import RunConfiguration
import Training

/// The sweep's report.html (module `Reports`).
extension TrainingSweep {
    /// The sweep's `report.html` in `folder` (held, with its lock, by the caller), linking each point's run report
    /// (`<label>/report.html`).
    static func writeReport(_ rows: [Row], knee: Sweep.Knee?, config: RunConfig, to folder: RunFolder, grid: SweepPlan,
                            evaluation: SweepPlan?, plots: [(file: String, svg: String)]) throws {
        let root = folder.url.path
        var axes = grid.axes.map { "\($0.key) = \($0.values.joined(separator: ", "))" }.joined(separator: "; ")
        if let e = evaluation {
            axes += "; hardware settings: " + e.axes.map { "\($0.key) = \($0.values.joined(separator: ", "))" }.joined(separator: "; ")
        }
        let points = rows.map { r in
            SweepReport.Point(label: r.label, settings: r.settings, device: r.device, abits: r.abits, adcBits: r.adc_bits,
                              softwareAccuracy: r.software_accuracy, hardwareAccuracy: r.hardware_accuracy,
                              energyPJ: r.energy_pj, areaMM2: r.area_mm2, latencyNS: r.latency_ns, topsPerW: r.tops_per_w,
                              trainImagesPerS: r.train_images_per_s,
                              link: FileManager.default.fileExists(atPath: "\(root)/\(r.label)/report.html")
                                  ? "\(r.label)/report.html" : nil)
        }
        let report = SweepReport(name: URL(fileURLWithPath: root).lastPathComponent, subject: subject(config),
                                 grid: axes, kneeBits: knee?.activationBits, kneeExplanation: knee?.explanation ?? "",
                                 plots: plots, points: points)
        try folder.write("report.html", Data(report.html().utf8))
    }

    /// The sweep's plot subtitle: "ResNet-20 on Fashion-MNIST · 22 nm, 128×128 subarrays, SAR ADC per 8 columns".
    static func subject(_ config: RunConfig) -> String {
        let chip = (try? config.cimConfig(activationBits: config.quant.abits)).map(Sweep.sharedChip) ?? ""
        return "\(DisplayNames.model(config.model.arch)) on \(DisplayNames.dataset(config.data.dataset))"
            + (chip.isEmpty ? "" : " · " + chip)
    }
}
