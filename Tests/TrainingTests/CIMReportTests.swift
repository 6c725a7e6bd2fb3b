import Data
import Foundation
import Models
import RunConfiguration
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
        cfg.cim.chip.adcBits = 8  // lossless for 128 rows: hardware-aware ≈ software
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
        XCTAssertEqual(hw, summary.test_accuracy, accuracy: 0.01,
                       "ideal ADC: the same predictions up to rounding and the 8-bit first and last layers")
        XCTAssertEqual(report["crossbar_layers"] as? [String], ["conv1", "conv2", "fc1", "fc2"])
        let chip = report["chip"] as! [String: Any]
        XCTAssertEqual((chip["layers"] as! [Any]).count, 4, "the FP32 first and last layers are priced too (8-bit)")
        XCTAssertEqual(((chip["config"] as! [String: Any])["mode"] as? String), "layer-by-layer")
        let table = try String(contentsOf: folder.url.appendingPathComponent("cim/layers.md"), encoding: .utf8)
        XCTAssert(table.contains("| conv2 |") && table.contains("**chip**"), table)
    }

    /// The `cim:` section's chip keys are `CIMConfig`'s (one type), validated once with messages naming the key.
    func testCIMKeysAreValidated() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cim-keys-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("c.yaml").path
        try "name: c\n".write(toFile: file, atomically: true, encoding: .utf8)
        for (set, needle) in [("cim.device=pcm", "cim.device: 'pcm' is not valid; expected one of sram, rram, fefet"),
                              ("cim.node=14", "cim.node: '14' is not valid; expected one of 22, 32, 45"),
                              ("cim.adc=pipeline", "cim.adc"), ("cim.cols_per_adc=3", "cim.cols_per_adc"),
                              ("cim.subarray=4", "cim.subarray"), ("cim.mode=parallel", "cim.mode"),
                              ("cim.max_copies=0", "cim.max_copies"), ("quant.bwma_amplitude=1.5", "quant.bwma_amplitude"),
                              ("quant.bwma_range=minmax", "quant.bwma_range")] {
            XCTAssertThrowsError(try ConfigLoader.load(path: file, overrides: [set])) {
                XCTAssert("\($0)".contains(needle), "\(set): \($0)")
            }
        }
        let modes = try ConfigLoader.load(path: file, overrides: ["cim.mode=pipeline", "cim.map_fp32_layers=false",
                                                                 "quant.bwma_range=learned", "quant.bwma_amplitude=0"])
        XCTAssertEqual(modes.cim.chip.mode, .pipeline); XCTAssertFalse(modes.cim.chip.mapFP32Layers)
        let policy = try modes.quantPolicy()
        XCTAssertTrue(policy.bwmaLearnedClip); XCTAssertEqual(policy.bwmaAmplitude, 0)
        let cfg = try ConfigLoader.load(path: file, overrides: ["cim.device=rram", "cim.subarray=256", "cim.adc_bits=6"])
        XCTAssertEqual(cfg.cim.chip.device, .rram)
        XCTAssertEqual([cfg.cim.chip.subarrayRows, cfg.cim.chip.subarrayColumns, cfg.cim.chip.adcBits], [256, 256, 6])
        XCTAssertNoThrow(try RunConfig().validate())
        let c = try RunConfig().cimConfig(activationBits: 3)
        XCTAssertEqual([c.subarrayRows, c.adcBits, c.columnsPerADC, c.activationBits], [128, 5, 8, 3])
    }
}
