import Data
import Foundation
import Models
import RunConfiguration
import TensorEngine
import Training
import XCTest

/// Hostile configs, checkpoints and operator mistakes at the library level (issue 15); the end-to-end versions are
/// in Tests/CLITests/HostileCLITests.swift.
final class HostileConfigTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("bwma-hostile-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    /// Loads `yaml` (written to a file) with `overrides`; returns the error's text ("accepted" when it loads).
    func loadError(_ yaml: String, _ overrides: [String] = []) throws -> String {
        let path = dir.appendingPathComponent("c-\(UUID()).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        do { _ = try ConfigLoader.load(path: path, overrides: overrides); return "accepted" } catch { return "\(error)" }
    }

    // MARK: - YAML (case 6 and 10)

    /// 10,000 nested brackets in a file or in `--set`, deep block nesting and a "billion laughs" alias bomb are
    /// refused by the scan before the parser sees them (the parser recursed into a stack overflow; the bomb took
    /// 83 s and 8 GB).
    func testDeepNestingAndAliasBombsAreRefusedBeforeParsing() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        XCTAssert(try loadError("data: {batch_size: \(deep)}\n").contains("YAML refused"))
        XCTAssert(try loadError("name: a\n", ["quant.layers=\(deep)"]).contains("YAML refused"))
        let nested = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        XCTAssert(try loadError("quant: {layers: \(nested)}\n").contains("brackets nested 101 deep"))
        XCTAssert(try loadError("quant:\n  layers:\n    " + String(repeating: "- ", count: 5_000) + "x\n").contains("blocks nested"))
        var bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        for (name, prev) in zip("bcdefghi", "abcdefgh") {
            bomb += "\(name): &\(name) [" + Array(repeating: "*\(prev)", count: 9).joined(separator: ",") + "]\n"
        }
        bomb += "quant: {layers: *i}\n"
        XCTAssertLessThan(bomb.utf8.count, 700)
        let start = Date()
        let e = try loadError(bomb)
        XCTAssert(e.contains("aliases (*name)"), e)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        // Ordinary configs with a few anchors still load.
        XCTAssertEqual(try loadError("optim: &o {lr: 0.05}\nname: x # a [comment]\n"), "accepted")
    }

    func testDuplicateKeysAreAnErrorNamingTheKey() throws {
        XCTAssert(try loadError("name: a\nname: b\n").contains("duplicate key 'name'"))
        XCTAssert(try loadError("optim:\n  lr: 0.1\n  lr: 0.2\n").contains("duplicate key 'optim.lr'"))
        XCTAssert(try loadError("optim: {lr: 0.1, momentum: 0.8, lr: 0.2}\n").contains("duplicate key 'optim.lr'"))
    }

    /// A load error keeps its structure: the file, the key, the problem, and the validation error behind it.
    func testLoadErrorsNameSourceKeyAndTheValidationError() throws {
        let path = dir.appendingPathComponent("lr.yaml").path
        try "optim: {lr: -1}\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConfigLoader.load(path: path, overrides: [])) { error in
            guard let e = error as? ConfigLoader.LoadError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.source, path)
            XCTAssertEqual(e.key, "optim.lr")
            XCTAssertEqual(e.config, .invalid(key: "optim.lr", value: "-1.0", expected: "a positive number"))
            XCTAssertEqual(e.description, "\(path): optim.lr: '-1.0' is not valid; expected a positive number")
        }
        XCTAssertThrowsError(try ConfigLoader.load(path: path, overrides: ["optim.lr"])) { error in
            let e = error as? ConfigLoader.LoadError
            XCTAssertEqual(e?.source, "--set optim.lr")
            XCTAssertNil(e?.key)
            XCTAssertEqual(e?.description, "--set optim.lr: expected key.path=value")
        }
        try "optim: {lr: fast}\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConfigLoader.load(path: path, overrides: [])) { error in
            let e = error as? ConfigLoader.LoadError
            XCTAssertEqual(e?.key, "optim.lr")
            XCTAssertEqual(e?.problem, "expected a number")
            XCTAssertNil(e?.config)
        }
    }

    // MARK: - Ranges and bounds (cases 7, 9, 10)

    func testValuesThatWouldOverflowOrAllocateWithoutBoundAreRejected() throws {
        let cases: [(String, String)] = [
            ("data.batch_size=100000000", "data.batch_size"), ("data.eval_batch_size=100000000", "data.eval_batch_size"),
            ("schedule.epochs=4611686018427387904", "schedule.epochs"), ("optim.eps=.inf", "optim.eps"),
            ("optim.weight_decay=.inf", "optim.weight_decay"), ("name=..", "name"), ("name=.", "name"),
            ("model.num_classes=2147483647", "model.num_classes"),
        ]
        for (o, key) in cases {
            let e = try loadError("name: a\n", ["optim.name=adam", o])
            XCTAssert(e.contains(key) && e.contains("is not valid"), "\(o): \(e)")
        }
    }

    /// The runtime section's enumerations name the key and every accepted value; a valid one is taken.
    func testRuntimeChoicesNameTheirValues() throws {
        let cases = [("runtime.backend=gpu", "one of auto, onednn, reference"),
                     ("runtime.precision=fp16", "one of fp32, bf16"),
                     ("runtime.conv_algorithm=winograd", "one of auto, direct")]
        for (o, expected) in cases {
            let e = try loadError("name: a\n", [o])
            XCTAssert(e.contains(String(o.prefix { $0 != "=" })) && e.contains(expected), "\(o): \(e)")
        }
        let path = dir.appendingPathComponent("direct.yaml").path
        try "name: a\nruntime: {conv_algorithm: direct}\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ConfigLoader.load(path: path, overrides: []).runtime.conv_algorithm, "direct")
        XCTAssertEqual(RunConfig().runtime.conv_algorithm, "auto")
    }

    // MARK: - Safetensors (case 4)

    /// `data_offsets` near 2^63: `headerEnd + end` wrapped around and passed the bounds check.
    func testOffsetsNearTwoToThe63AreRejectedNotWrapped() throws {
        let size = 8
        let b = Int.max - size, e = Int.max
        let header = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[\#(b),\#(e)]}}    "#
        var d = Data(); var len = UInt64(header.utf8.count); withUnsafeBytes(of: &len) { d.append(contentsOf: $0) }
        d.append(Data(header.utf8)); d.append(Data(count: size))
        XCTAssertThrowsError(try SafeTensors.decode(d, path: "crafted.st")) { error in
            XCTAssert("\(error)".contains("crafted.st: truncated: tensor 'w'"), "\(error)")
        }
        // A shape whose element count overflows.
        let h2 = #"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,0]}}"#
        var d2 = Data(); var l2 = UInt64(h2.utf8.count); withUnsafeBytes(of: &l2) { d2.append(contentsOf: $0) }
        d2.append(Data(h2.utf8))
        XCTAssertThrowsError(try SafeTensors.decode(d2, path: "shape.st")) { error in
            XCTAssert("\(error)".contains("do not hold shape"), "\(error)")
        }
    }

    // MARK: - Checkpoints (cases 3 and 7)

    func checkpoint(ranks: Int, inputShape: String = "1x28x28", progress: TrainingProgress = .init()) throws -> Checkpoint {
        var cfg = RunConfig()
        cfg.model.arch = "lenet5"
        let model = try ModelZoo.make("lenet5", inputShape: [1, 28, 28], numClasses: 10, seed: 0)
        let opt = try OptimizerFactory.make(cfg.optim, store: model.store)
        var c = try Checkpoint.capture(model: model, optimizer: opt, config: cfg, progress: progress,
                                       rankBuffers: nil, ranks: ranks)
        c.file.metadata["input_shape"] = inputShape
        return c
    }

    /// A checkpoint of R ranks continues on R′ (docs/distributed.md): the global batch is kept where R′ divides it
    /// (else a clear error offering `per_rank`), the per-rank batch with `per_rank`; the epoch position comes from
    /// the progress (older checkpoints: steps·batch·ranks). Data of another shape is still refused.
    func testResumeLayoutOnAnotherNumberOfRanks() throws {
        var p = TrainingProgress()
        p.stepInEpoch = 3
        let c = try checkpoint(ranks: 2, progress: p)
        let batch = RunConfig().data.batch_size
        let same = try c.resumeLayout(ranks: 2, mode: "global", path: "ck")
        XCTAssertEqual(same, .init(storedRanks: 2, storedBatch: batch, perRankBatch: batch, epochOffset: 3 * batch * 2))
        XCTAssertEqual(try c.resumeLayout(ranks: 1, mode: "global", path: "ck").perRankBatch, 2 * batch)
        XCTAssertEqual(try c.resumeLayout(ranks: 4, mode: "global", path: "ck").perRankBatch, batch / 2)
        XCTAssertEqual(try c.resumeLayout(ranks: 3, mode: "per_rank", path: "ck").perRankBatch, batch)
        XCTAssertThrowsError(try c.resumeLayout(ranks: 3, mode: "global", path: "ck")) { error in
            XCTAssert("\(error)".contains("ck") && "\(error)".contains("cannot split that global batch evenly")
                      && "\(error)".contains("runtime.resume_batch=per_rank"), "\(error)")
        }
        p.epochSamples = 77
        XCTAssertEqual(try (try checkpoint(ranks: 2, progress: p)).resumeLayout(ranks: 1, mode: "global").epochOffset, 77)
        let other = try ModelZoo.make("lenet5", inputShape: [3, 32, 32], numClasses: 10, seed: 0)
        XCTAssertThrowsError(try c.checkShape(of: other, path: "ck")) { error in
            XCTAssert("\(error)".contains("takes 1x28x28 inputs and 10 classes, the data now gives 3x32x32"), "\(error)")
        }
    }

    /// The metadata (config, shapes, ranks, progress) is covered by `metadata_checksum`.
    func testChangedCheckpointMetadataIsRefused() throws {
        let good = try checkpoint(ranks: 1).encoded()
        let path = dir.appendingPathComponent("ck.safetensors").path
        try good.write(to: URL(fileURLWithPath: path))
        XCTAssertNoThrow(try Checkpoint.load(path))
        var f = try SafeTensors.decode(good, path: path)
        f.metadata["ranks"] = "2"
        try SafeTensors.encode(f).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Checkpoint.load(path)) { error in
            XCTAssert("\(error)".contains("metadata checksum mismatch"), "\(error)")
        }
    }

    func testCheckpointMetadataClaimingAHugeInputIsRefusedBeforeBuilding() throws {
        let c = try checkpoint(ranks: 1, inputShape: "1x100000x100000")
        XCTAssertThrowsError(try c.makeModel(config: try c.config(), path: "ck")) { error in
            XCTAssert("\(error)".contains("input_shape 1x100000x100000") && "\(error)".contains("4096"), "\(error)")
        }
    }

    // MARK: - Model against data (cases 1 and 2)

    func syntheticSplits(_ shape: String, classes: Int = 10) throws -> (RunConfig, DataLoading.Splits) {
        var cfg = RunConfig()
        cfg.data.dataset = "synthetic"
        cfg.data.synthetic_shape = shape
        cfg.data.synthetic_train = 64
        cfg.data.synthetic_test = 16
        cfg.data.synthetic_classes = classes
        return (cfg, try DataLoading.load(cfg, configPath: "cfg.yaml", log: { _ in }))
    }

    func testDataOfAnotherShapeOrMoreClassesThanTheModelIsRefused() throws {
        for shape in ["1x16x16", "3x32x32"] {
            let (cfg, splits) = try syntheticSplits(shape)
            XCTAssertThrowsError(try DataLoading.check(inputShape: [1, 28, 28], classes: 10, against: splits, config: cfg,
                                                       source: "ck")) { error in
                XCTAssert("\(error)".contains("expects 1x28x28 inputs") && "\(error)".contains("gives \(shape) samples"), "\(error)")
            }
        }
        let (cfg, splits) = try syntheticSplits("1x28x28")
        XCTAssertNoThrow(try DataLoading.check(inputShape: [1, 28, 28], classes: 10, against: splits, config: cfg, source: "ck"))
        XCTAssertThrowsError(try DataLoading.check(inputShape: [1, 28, 28], classes: 5, against: splits, config: cfg,
                                                   source: "ck")) { error in
            XCTAssert("\(error)".contains("model.num_classes") && "\(error)".contains("at least the 10 classes"), "\(error)")
        }
        var big = cfg
        big.data.batch_size = 60_000
        let (_, bigSplits) = try syntheticSplits("3x224x224")
        XCTAssertThrowsError(try DataLoading.check(inputShape: [3, 224, 224], classes: 10, against: bigSplits, config: big,
                                                   source: "ck")) { error in
            XCTAssert("\(error)".contains("data.batch_size"), "\(error)")
        }
    }

    // MARK: - Silent no-ops (case 10)

    func testDropLastWithABatchLargerThanTheDataIsAnError() throws {
        var (cfg, splits) = try syntheticSplits("1x8x8")
        splits.inputShape = [1, 8, 8]
        cfg.data.drop_last = true
        cfg.data.batch_size = 100
        let model = try ModelZoo.make("smallcnn", inputShape: [1, 8, 8], numClasses: 10, seed: 0)
        XCTAssertThrowsError(try Trainer(config: cfg, model: model, train: splits.train, test: splits.test, folder: nil,
                                         log: { _ in })) { error in
            XCTAssert("\(error)".contains("data.batch_size") && "\(error)".contains("drop_last"), "\(error)")
        }
    }

    /// A run that logged an epoch (or steps) and then failed to write the checkpoint redoes them on resume: their
    /// metrics.jsonl lines are dropped first instead of being written twice.
    func testResumeDropsMetricsLinesNewerThanTheCheckpoint() throws {
        var (cfg, splits) = try syntheticSplits("1x8x8")
        splits.inputShape = [1, 8, 8]
        cfg.data.batch_size = 16
        cfg.schedule.epochs = 1
        cfg.runtime.log_every_steps = 1
        cfg.cim.report = "none"
        let model = try ModelZoo.make("smallcnn", inputShape: [1, 8, 8], numClasses: 10, seed: 0)
        let folder = try RunFolder(root: dir.path, name: "r")
        _ = try Trainer(config: cfg, model: model, train: splits.train, test: splits.test, folder: folder, log: { _ in }).run()
        let metrics = folder.url.appendingPathComponent("metrics.jsonl")
        let before = try String(contentsOf: metrics, encoding: .utf8)
        // What a run of epoch 2 leaves when its checkpoint write fails: its step lines and its epoch line.
        let h = try FileHandle(forWritingTo: metrics)
        h.seekToEndOfFile()
        h.write(Data((#"{"kind":"step","step":5,"epoch":2,"lr":0.1,"loss":1,"images_per_s":1}"# + "\n"
            + #"{"kind":"epoch","epoch":2,"test_accuracy":0.5}"# + "\n").utf8))
        try h.close()
        cfg.schedule.epochs = 2
        let c = try Checkpoint.load(folder.checkpoints.appendingPathComponent("last.safetensors").path)
        let model2 = try ModelZoo.make("smallcnn", inputShape: [1, 8, 8], numClasses: 10, seed: 0)
        let t = try Trainer(config: cfg, model: model2, train: splits.train, test: splits.test, folder: folder, log: { _ in })
        try t.resume(from: c, path: "last")
        XCTAssertEqual(try String(contentsOf: metrics, encoding: .utf8), before)
        _ = try t.run()
        let lines = try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
        XCTAssertEqual(lines.filter { $0["kind"] as? String == "epoch" && $0["epoch"] as? Int == 2 }.count, 1)
        XCTAssertEqual(lines.filter { $0["kind"] as? String == "step" && $0["step"] as? Int == 5 }.count, 1)
    }

    func testEmptyTestSplitIsAnError() throws {
        // An image folder whose only test class is empty (allowed with bad_samples: skip).
        let root = dir.appendingPathComponent("imgs")
        for d in ["train/a", "val/a"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(d), withIntermediateDirectories: true)
        }
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: try Self.fixture("jpeg/baseline_420.jpg")))
        try jpeg.write(to: root.appendingPathComponent("train/a/1.jpg"))
        var cfg = RunConfig()
        cfg.data.dataset = "imagefolder"
        cfg.data.path = root.path
        cfg.data.bad_samples = "skip"
        XCTAssertThrowsError(try DataLoading.load(cfg, configPath: "cfg.yaml", log: { _ in })) { error in
            XCTAssert("\(error)".contains("the test split holds no samples"), "\(error)")
        }
    }

    /// A file of Tests/DataTests/Fixtures.
    static func fixture(_ relative: String) throws -> String {
        let p = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../DataTests/Fixtures/\(relative)").standardized.path
        guard FileManager.default.fileExists(atPath: p) else { throw XCTSkip("fixture \(relative) missing") }
        return p
    }

    // MARK: - Run folders (case 9)

    func testASecondWriterOfARunFolderFailsAtOnce() throws {
        func hold() throws {
            let first = try RunFolder(root: dir.path, name: "busy")
            XCTAssertThrowsError(try RunFolder(root: dir.path, name: "busy")) { error in
                XCTAssert((error as? FileError)?.kind == .runFolderBusy && "\(error)".contains("is in use by another bwma process (pid \(getpid()))"),
                          "\(error)")
            }
            withExtendedLifetime(first) {}
        }
        try hold()
        XCTAssertNoThrow(try RunFolder(root: dir.path, name: "busy"), "the lock is released with the folder value")
        XCTAssertFalse(RunConfig.isValidRunName(".."))
        XCTAssertFalse(RunConfig.isValidRunName("a/b"))
        XCTAssertTrue(RunConfig.isValidRunName("a..b"))
    }
}
