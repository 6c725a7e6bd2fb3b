import Foundation
import XCTest

/// The shipped dataset configs run end to end on the real fixtures (CIFAR-10 records, ImageNet JPEGs), `bwma data
/// pack` writes a file that trains, and bad data settings stop with the key named.
final class DataCLITests: XCTestCase {
    /// The helpers (running the binary, temp folder, config writing) of the CLI tests.
    let cli = CLITests(name: "helpers", testClosure: { _ in })
    var tmp: URL { cli.tmp }

    override func setUpWithError() throws { try cli.setUpWithError() }
    override func tearDown() { cli.tearDown() }

    /// Tests/DataTests/Fixtures, found from this file's path.
    var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("DataTests/Fixtures")
    }
    var repository: URL { fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    /// A cifar-10-batches-bin folder whose six files each hold the 20 real test records.
    func cifarFolder() throws -> String {
        let d = tmp.appendingPathComponent("cifar-10-batches-bin")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        let records = try Foundation.Data(contentsOf: fixtures.appendingPathComponent("test_batch_first20.bin"))
        for f in (1...5).map({ "data_batch_\($0).bin" }) + ["test_batch.bin"] {
            try records.write(to: d.appendingPathComponent(f))
        }
        return d.path
    }

    /// An ImageNet-layout folder (train/ and val/) made of the 20 real JPEGs.
    func imagenetFolder() throws -> String {
        let d = tmp.appendingPathComponent("imagenet")
        for split in ["train", "val"] {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent("imagenet20"),
                                             to: d.appendingPathComponent(split))
        }
        return d.path
    }

    func summary(_ name: String) throws -> [String: Any] {
        let url = tmp.appendingPathComponent("runs/\(name)/summary.json")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: url)) as? [String: Any])
    }

    func config(_ name: String) -> String { repository.appendingPathComponent("configs/\(name)").path }

    func testCIFAR10ConfigTrainsOnRealRecords() throws {
        let r = try cli.bwma(["train", "--config", config("cifar10-resnet20.yaml"), "--set", "data.path=\(try cifarFolder())",
                              "--set", "schedule.epochs=1", "--set", "data.batch_size=25", "--set", "runtime.runs_dir=\(cli.runsDir)",
                              "--set", "runtime.checkpoint_every_steps=0", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("100 train / 20 test images"), r.stderr)
        let s = try summary("cifar10-resnet20-w1a4")
        XCTAssertEqual(s["epochs"] as? Int, 1)
        XCTAssertNotNil(s["test_accuracy"] as? Double)
    }

    func testImageNetConfigTrainsOnRealJPEGs() throws {
        let r = try cli.bwma(["train", "--config", config("imagenet-resnet18.yaml"), "--set", "data.path=\(try imagenetFolder())",
                              "--set", "schedule.epochs=1", "--set", "schedule.milestones=[]", "--set", "data.image_size=64",
                              "--set", "data.eval_batch_size=10", "--set", "data.workers=2",
                              "--set", "runtime.runs_dir=\(cli.runsDir)", "--set", "runtime.checkpoint_every_steps=0"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("20 train / 20 test images"), r.stderr)
        let metrics = try String(contentsOf: tmp.appendingPathComponent("runs/imagenet-resnet18-w1a4/metrics.jsonl"), encoding: .utf8)
        let epoch = try XCTUnwrap(metrics.split(separator: "\n").first { $0.contains("\"kind\":\"epoch\"") })
        let m = try XCTUnwrap(try JSONSerialization.jsonObject(with: Foundation.Data(epoch.utf8)) as? [String: Any])
        XCTAssertEqual(m["skipped_samples"] as? Int, 0)
        XCTAssertNotNil(m["data_wait_share"] as? Double)
    }

    func testPackThenTrainOnPackedData() throws {
        let src = try imagenetFolder(), packed = tmp.appendingPathComponent("packed").path
        try FileManager.default.createDirectory(atPath: packed, withIntermediateDirectories: true)
        for (split, file) in [("train", "train.bwpack"), ("test", "test.bwpack")] {
            let r = try cli.bwma(["data", "pack", "--dataset", "imagenet", "--path", src, "--split", split, "--size", "32",
                                  "--out", "\(packed)/\(file)"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("20 records of 3x32x32"), r.stderr)
        }
        let r = try cli.bwma(["train", "--config", try cli.writeConfig(["data.dataset": "packed", "data.limit_train": "0",
                                                                        "data.limit_test": "0", "model.arch": "lenet5"],
                                                                       dataPath: packed)])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("20 train / 20 test images"), r.stderr)
    }

    func testPackRefusesBadArgumentsAndKeepsExistingOutput() throws {
        let out = tmp.appendingPathComponent("keep.bwpack").path
        try "precious".write(toFile: out, atomically: true, encoding: .utf8)
        let r = try cli.bwma(["data", "pack", "--dataset", "imagenet", "--path", tmp.appendingPathComponent("nowhere").path,
                              "--out", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--path") && r.stderr.contains("nowhere"), r.stderr)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "precious")
        let r2 = try cli.bwma(["data", "pack", "--dataset", "imagenett", "--path", "x", "--out", out])
        XCTAssertNotEqual(r2.status, 0)
        XCTAssertTrue(r2.stderr.contains("--dataset must be one of"), r2.stderr)
    }

    func testBadDataKeysAreNamed() throws {
        for (key, value, expected) in [("data.dataset", "imagenett", "one of fashion-mnist"),
                                       ("data.augment", "flip", "one of auto, none"),
                                       ("data.workers", "-1", "0...64"),
                                       ("data.bad_samples", "ignore", "error or skip"),
                                       ("data.synthetic_shape", "3x32", "CxHxW")] {
            let cfg = try cli.writeConfig([key: value])
            let r = try cli.bwma(["train", "--config", cfg])
            cli.assertFailed(r, mentioning: [key, expected])
        }
        // A folder of images of different sizes cannot be trained without a resizing augmentation.
        let r = try cli.bwma(["train", "--config", try cli.writeConfig(["data.dataset": "imagefolder", "data.augment": "none"],
                                                                       dataPath: try imagenetFolder())])
        cli.assertFailed(r, mentioning: ["data.augment must resize"])
    }
}
