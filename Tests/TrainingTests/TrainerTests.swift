import Data
import Foundation
import Models
import RunConfiguration
import TensorEngine
import Training
import XCTest

/// A short real-data run: SmallCNN on the first 4,096 Fashion-MNIST training images must learn (a random network
/// scores ≈ 10 %).
final class TrainerTests: XCTestCase {
    func testSmallCNNLearnsFashionMNISTSubset() throws {
        let dir = MNISTFamily.fashionDefaultPath
        guard FileManager.default.fileExists(atPath: dir + "/train-images-idx3-ubyte.gz") else {
            throw XCTSkip("Fashion-MNIST missing: apt-get install dataset-fashion-mnist")
        }
        var cfg = RunConfig()
        cfg.model.arch = "smallcnn"
        cfg.data.batch_size = 64
        cfg.schedule.epochs = 1
        cfg.optim.lr = 0.05
        cfg.data.limit_train = 4096
        cfg.data.limit_test = 2000
        try cfg.validate()
        let data = try DataLoading.load(cfg, configPath: "test", log: { _ in })
        XCTAssertEqual(data.train.source.count, 4096)
        XCTAssertEqual(data.test.source.count, 2000)
        let model = try ModelZoo.make("smallcnn", inputShape: data.inputShape, numClasses: 10, seed: 0)
        let runs = FileManager.default.temporaryDirectory.appendingPathComponent("bwma-trainer-\(UUID())")
        defer { try? FileManager.default.removeItem(at: runs) }
        let folder = try RunFolder(root: runs.path, name: "t")
        let summary = try Trainer(config: cfg, model: model, train: data.train, test: data.test, folder: folder, log: { _ in }).run()
        XCTAssertGreaterThan(summary.test_accuracy, 0.70)
        XCTAssertEqual(summary.epochs, 1)
        let metrics = try String(contentsOf: folder.url.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        XCTAssertEqual(metrics.split(separator: "\n").filter { $0.contains("\"kind\":\"epoch\"") }.count, 1)
        let s = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.url.appendingPathComponent("summary.json")))
            as? [String: Any]
        XCTAssertEqual(s?["test_accuracy"] as? Double, summary.test_accuracy)
        XCTAssertNotNil(s?["images_per_s"] as? Double)
    }
}
