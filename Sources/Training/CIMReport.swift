import CIMSimulator
import Data
import Foundation
import Models
import RunConfiguration
import TensorEngine

// MARK: - Reports from the training loop

/// What `runs/NAME/cim/report.json` holds.
public struct CIMRunReport: Codable, Sendable {
    public var epoch: Int
    public var software_accuracy: Double
    /// Test accuracy through the crossbar datapath (nil when `cim.accuracy` is false).
    public var hardware_accuracy: Double?
    /// Layers that ran through the crossbar.
    public var crossbar_layers: [String]
    public var chip: ChipReport
}

extension Trainer {
    /// After epoch `epoch`: when the `cim` section asks for a report now, every rank runs the hardware-aware test
    /// evaluation (a collective, like `evaluate()`), and rank 0 writes `cim/report.json` and `cim/layers.md` and
    /// logs a summary. A model without binarized layers has nothing to map: it is skipped with a note.
    /// Returns the report (also kept in `lastCIMReport`), nil when none was due.
    @discardableResult
    func cimReport(epoch: Int, softwareAccuracy: Double) throws -> CIMRunReport? {
        let c = config.cim
        let atEnd = c.report == "end" && epoch == config.schedule.epochs
        let periodic = c.every_epochs > 0 && epoch % c.every_epochs == 0
        guard atEnd || periodic else { return nil }
        let hw = try config.cimConfig(activationBits: config.quant.abits)
        let shapes = Mapping.layerShapes(of: model)
        guard shapes.contains(where: \.binarized) else {
            log("cim: no binarized layer with k-bit inputs to map (fp32 model): no report")
            return nil
        }
        let chip = CostModel.chip(shapes, hw)
        var hwAccuracy: Double?
        var names: [String] = []
        if c.accuracy {
            names = HardwareAwareInference.attach(to: model, config: hw)
            defer { HardwareAwareInference.detach(from: model) }
            hwAccuracy = try evaluate().accuracy
        }
        let report = CIMRunReport(epoch: epoch, software_accuracy: softwareAccuracy, hardware_accuracy: hwAccuracy,
                                  crossbar_layers: names, chip: chip)
        lastCIMReport = report
        guard let folder else { return report }
        let dir = try RunFolder(root: folder.url.path, name: "cim", checkpoints: false)
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        e.keyEncodingStrategy = .convertToSnakeCase
        try dir.write("report.json", try e.encode(report))
        try dir.write("layers.md", Data(CostModel.table(chip).utf8))
        log(String(format: "cim (%@, %d-bit %@ ADC, %d nm): test accuracy %.4f software, %@ hardware-aware; "
                   + "%.4g pJ/image, %.4g mm², %.4g µs/image, %.1f TOPS/W -> %@/cim/report.json",
                   hw.device.rawValue, hw.adcBits, hw.adc.rawValue, hw.node.rawValue, softwareAccuracy,
                   hwAccuracy.map { String(format: "%.4f", $0) } ?? "n/a", chip.energy_pj.total, chip.area_mm2.total,
                   chip.latency_ns / 1000, chip.tops_per_w, folder.url.path))
        return report
    }
}
