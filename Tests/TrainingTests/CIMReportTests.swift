import Data
import Foundation
import Models
import TensorEngine
import Training
import XCTest

/// The end-of-training CIM report: written by the trainer for a binarized model, with the hardware-aware accuracy
/// beside the software one.
final class CIMReportTests: XCTestCase {
    func testQuantizedRunWritesTheCIMReportAndReloads() throws {
        let dir = MNISTFamily.fashionDefaultPath
        guard FileManager.default.fileExists(atPath: dir + "/train-images-idx3-ubyte.gz") else {
            throw XCTSkip("Fashion-MNIST missing: apt-get install dataset-fashion-mnist")
        }
        var cfg = RunConfig()
        cfg.name = "cim"
        cfg.model.arch = "smallcnn"
        cfg.data.batch_size = 64
        cfg.schedule.epochs = 2
        cfg.optim.lr = 0.05
        cfg.quant.weights = "bwma"; cfg.quant.activations = "bwma"; cfg.quant.abits = 3
        cfg.cim.adc_bits = 8  // lossless for 128 rows: hardware-aware ≈ software
        cfg.cim.every_epochs = 1
        cfg.runtime.save_parameters = true
        let runs = FileManager.default.temporaryDirectory.appendingPathComponent("bwma-cim-\(UUID())")
        defer { try? FileManager.default.removeItem(at: runs) }
        cfg.runtime.runs_dir = runs.path
        try cfg.validate()
        cfg.data.limit_train = 2048
        cfg.data.limit_test = 500
        let data = try DataLoading.load(cfg, configPath: "test", log: { _ in })
        let model = try ModelZoo.make("smallcnn", inputShape: data.inputShape, numClasses: 10, seed: 0,
                                      quant: try cfg.quantPolicy())
        let folder = try RunFolder(root: runs.path, name: cfg.name)
        var lines: [String] = []
        let summary = try Trainer(config: cfg, model: model, train: data.train, test: data.test, folder: folder,
                                  log: { lines.append($0) }).run()
        XCTAssertEqual(lines.filter { $0.hasPrefix("cim (sram") }.count, 2, "every epoch: \(lines)")
        let report = try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.url.appendingPathComponent("cim/report.json"))) as! [String: Any]
        XCTAssertEqual(report["epoch"] as? Int, 2)
        XCTAssertEqual(report["software_accuracy"] as? Double, summary.test_accuracy)
        let hw = try XCTUnwrap(report["hardware_accuracy"] as? Double)
        XCTAssertEqual(hw, summary.test_accuracy, accuracy: 0.01, "ideal ADC: the same predictions up to rounding")
        XCTAssertEqual(report["crossbar_layers"] as? [String], ["conv2", "fc1"])
        let chip = report["chip"] as! [String: Any]
        XCTAssertEqual((chip["layers"] as! [Any]).count, 2)
        let table = try String(contentsOf: folder.url.appendingPathComponent("cim/layers.md"), encoding: .utf8)
        XCTAssert(table.contains("| conv2 |") && table.contains("**chip**"), table)
    }

    func testCIMKeysAreValidated() throws {
        var cfg = RunConfig()
        cfg.cim.device = "pcm"
        XCTAssertThrowsError(try cfg.validate()) { XCTAssert("\($0)".contains("cim.device")) }
        cfg = RunConfig()
        cfg.cim.cols_per_adc = 3
        XCTAssertThrowsError(try cfg.validate()) { XCTAssert("\($0)".contains("cim.cols_per_adc")) }
        cfg = RunConfig()
        cfg.cim.subarray = 4
        XCTAssertThrowsError(try cfg.validate()) { XCTAssert("\($0)".contains("cim.subarray")) }
        XCTAssertNoThrow(try RunConfig().validate())
        let c = try RunConfig().cimConfig(activationBits: 3)
        XCTAssertEqual([c.subarrayRows, c.adcBits, c.columnsPerADC, c.activationBits], [128, 5, 8, 3])
    }
}
