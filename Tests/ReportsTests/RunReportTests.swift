import Foundation
import Plots
import Reports
import XCTest

/// The run and sweep pages built from a hand-written run folder: sections present, numbers in their units, every
/// string from the config escaped, nothing loaded from elsewhere.
final class RunReportTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("bwma-reports-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("cim"), withIntermediateDirectories: true)
        try """
        name: w1a4 <script>alert(1)</script>
        data:
          dataset: fashion-mnist
        model:
          arch: resnet20
        quant:
          weights: bwma
          activations: bwma
          abits: 4

        """.write(to: dir.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        let lines = [
            #"{"epoch":1,"images_per_s":300,"kind":"step","loss":2.1,"lr":0.1,"step":10}"#,
            #"{"epoch":1,"images_per_s":320,"kind":"step","loss":1.2,"lr":0.1,"step":20}"#,
            #"{"comm_wait_share":0.12,"data_wait_share":0.02,"epoch":1,"epoch_s":40.5,"hardware_accuracy":0.79,"images_per_s":310,"kind":"epoch","lr":0.05,"skipped_samples":0,"test_accuracy":0.8,"test_loss":0.6,"train_accuracy":0.7,"train_loss":0.9}"#,
            #"{"epoch":2,"images_per_s":330,"kind":"step","loss":0.7,"lr":0.01,"step":30}"#,
            #"{"comm_wait_share":0.1,"data_wait_share":0.01,"epoch":2,"epoch_s":39,"images_per_s":315,"kind":"epoch","lr":0,"skipped_samples":0,"test_accuracy":0.84,"test_loss":0.45,"train_accuracy":0.82,"train_loss":0.5}"#,
            #"{"epoch":2,"kind":"ste"#,  // a line cut short by a crash
        ]
        try (lines.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        try #"{"epochs":2,"images_per_s":312,"model":"resnet20","parameters":270000,"peak_rss_mb":512,"ranks":2,"test_accuracy":0.84,"wall_s":95}"#
            .write(to: dir.appendingPathComponent("summary.json"), atomically: true, encoding: .utf8)
        let energy = #"{"accumulation":100,"adc":300000,"array":20000,"buffer":5000,"interconnect":1000,"shift_add":40000,"wordline":2000}"#
        let area = #"{"accumulation":0.01,"adc":0.3,"array":0.1,"buffer":0.02,"shift_add":0.05,"wordline_drivers":0.01}"#
        let shape = #"{"binarized":true,"in_channels":16,"in_height":28,"in_width":28,"kernel":3,"kind":"conv","name":"layer1.0.conv1","out_channels":16,"out_height":28,"out_width":28,"stride":1}"#
        try """
        {"chip":{"area_mm2":\(area),"config":{"activation_bits":4,"adc":"sar","adc_bits":5,"adc_range":1,"clock_hz":1e9,
        "columns_per_adc":8,"device":"sram","input_activity":0.5,"node":22,"on_off_ratio":0,"seed":0,"stuck_at_0":0,
        "stuck_at_1":0,"subarray_columns":128,"subarray_rows":128,"variation":0},"digital_layers":[{"binarized":false,
        "in_channels":1,"in_height":28,"in_width":28,"kernel":3,"kind":"conv","name":"conv1","out_channels":16,
        "out_height":28,"out_width":28,"stride":1}],"digital_macs":112896,"energy_pj":\(energy),"images_per_s":3000,
        "latency_ns":333000,"layers":[{"adcs":16,"area_mm2":\(area),"energy_pj":\(energy),"latency_ns":333000,
        "mapping":{"column_tiles":1,"reference_cells":128,"row_tiles":2,"utilization":0.56,"weight_cells":2304},
        "ops":3600000,"shape":\(shape)}],"ops":3600000,"subarrays":2,"tops_per_mm2":0.02,"tops_per_w":98.1},
        "crossbar_layers":["layer1.0.conv1"],"epoch":2,"hardware_accuracy":0.835,"software_accuracy":0.84}
        """.write(to: dir.appendingPathComponent("cim/report.json"), atomically: true, encoding: .utf8)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func testRunFolderIsReadTolerantly() {
        let r = RunRecord(folder: dir)
        XCTAssertEqual(r.epochs.map(\.epoch), [1, 2])
        XCTAssertEqual(r.steps.map(\.step), [10, 20, 30], "the cut line is skipped")
        XCTAssertEqual(r.summary?.ranks, 2)
        XCTAssertEqual(r.cim?.chip.layers.count, 1)
        XCTAssertEqual(r.cim?.chip.energy_pj["adc"], 300000)
        XCTAssertEqual(r.setting("model.arch"), "resnet20")
        XCTAssertEqual(RunPlots.subject(r), "ResNet-20 on Fashion-MNIST · W1A4 · SRAM 22 nm, 5-bit ADC")
        XCTAssertEqual(RunPlots.subject(r, full: true), "ResNet-20 on Fashion-MNIST · W1A4 · SRAM, 22 nm, 128×128 "
                       + "subarrays, 5-bit SAR ADC per 8 columns")
    }

    func testRunPageHasEverySectionInUnitsAndEscaped() {
        let html = RunReport.html(RunRecord(folder: dir), stepsPerEpoch: 25)
        XCTAssert(html.hasPrefix("<!DOCTYPE html>"))
        for id in ["curves", "throughput", "cim", "config"] { XCTAssert(html.contains("<section id=\"\(id)\">"), id) }
        for t in ["epochs", "chip-summary", "layers"] { XCTAssert(html.contains("<table id=\"\(t)\">"), t) }
        XCTAssertFalse(html.contains("<script"), "the config's name is escaped")
        XCTAssert(html.contains("w1a4 &lt;script&gt;alert(1)&lt;/script&gt;"))
        for external in ["src=", "href=\"http", "url(", "@import", "<link"] {
            XCTAssertFalse(html.contains(external), "nothing loaded from elsewhere: \(external)")
        }
        XCTAssert(html.contains("368 nJ"), "chip energy in nJ")  // 368100 pJ
        XCTAssert(html.contains("83.50 %") && html.contains("84.00 %"), "hardware-aware and software accuracy")
        XCTAssert(html.contains("ADCs") && html.contains("81.5 %"), "ADC share of the energy: 300000 / 368100")
        XCTAssert(html.contains("12.0 %"), "communication share")
        XCTAssert(html.contains("conv1") && html.contains("not costed"), "digital layers listed")
        // Loss plot: x from 0, step and epoch series told apart.
        let loss = RunPlots.loss(RunRecord(folder: dir), stepsPerEpoch: 25).render()
        XCTAssert(loss.contains("train, per logged step") && loss.contains("train, epoch mean") && loss.contains("test, after each epoch"))
        XCTAssert(loss.contains(">0</text>"), "the epoch axis starts at 0")
        XCTAssert(loss.contains("stroke-dasharray"), "the test series is dashed")
    }

    func testSweepPageLinksPointsAndMarksTheKnee() {
        let pts = [(2, 0.80, 4.0e5), (4, 0.85, 8.0e5), (8, 0.84, 1.6e6)].map { k, a, e in
            SweepReport.Point(label: "abits-\(k)", settings: ["quant.abits=\(k)"], device: "sram", abits: k, adcBits: 5,
                              softwareAccuracy: a, hardwareAccuracy: a - 0.01, energyPJ: e, areaMM2: 0.5, latencyNS: 3e5,
                              topsPerW: 100, trainImagesPerS: 300, link: "abits-\(k)/report.html")
        }
        let html = SweepReport(name: "s<1>", subject: "SmallCNN on Fashion-MNIST", grid: "quant.abits = 2, 4, 8", kneeBits: 4,
                               kneeExplanation: "within 0.5 points", plots: [("accuracy_vs_energy.svg", "<svg class=\"plot\"></svg>")],
                               points: pts).html()
        XCTAssert(html.contains("Sweep s&lt;1&gt;"))
        XCTAssert(html.contains("<a href=\"abits-4/report.html\">abits-4</a>"))
        XCTAssert(html.contains("Knee: 4-bit activations"))
        XCTAssertEqual(html.components(separatedBy: "class=\"highlight\"").count - 1, 1)
        XCTAssertEqual(html.components(separatedBy: "on the front").count - 1, 2, "A8 costs more and is worse than A4")
        XCTAssert(html.contains("0.800 µJ"))
    }
}
