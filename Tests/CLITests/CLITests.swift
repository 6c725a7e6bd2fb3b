import Foundation
import XCTest

/// End-to-end checks of the `bwma` executable: exit status, stderr messages, `--json` output.
final class CLITests: XCTestCase {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("bwma-clitests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let tmp { try? FileManager.default.removeItem(at: tmp) }
    }

    // MARK: - Running the binary

    /// The built `bwma`, found next to the test bundle (`.build/<config>/bwma`): on Linux the xctest is an executable
    /// in that folder, on macOS a bundle whose executable sits three levels deeper.
    static func binary() throws -> URL {
        var starts = [Bundle.main.bundleURL, Bundle.main.executableURL?.deletingLastPathComponent()]
        starts.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        starts += Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        var looked: [String] = []
        for start in starts.compactMap({ $0 }) {
            var dir = start.standardizedFileURL
            for _ in 0..<4 {
                let candidate = dir.appendingPathComponent("bwma")
                looked.append(candidate.path)
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue,
                   FileManager.default.isExecutableFile(atPath: candidate.path) {
                    return candidate
                }
                dir = dir.deletingLastPathComponent()
            }
        }
        throw BinaryNotFound("bwma executable not found (build it with `swift build --build-tests`); looked at: "
                             + Set(looked).sorted().joined(separator: ", "))
    }

    struct BinaryNotFound: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// Runs `bwma args…` with stdout/stderr sent to files (no pipe-buffer deadlock), killing it after `timeout` s.
    func bwma(_ args: [String], timeout: TimeInterval = 120, file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let exe: URL
        do { exe = try CLITests.binary() } catch {
            XCTFail("\(error)", file: file, line: line)
            throw error
        }
        let outURL = tmp.appendingPathComponent("stdout-\(UUID().uuidString)")
        let errURL = tmp.appendingPathComponent("stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        p.currentDirectoryURL = tmp  // a stray relative `runs/` would land in the temp dir, not the repository
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if p.isRunning {
            p.terminate()
            p.waitUntilExit()
            XCTFail("bwma \(args.joined(separator: " ")) ran over \(timeout) s", file: file, line: line)
        }
        p.waitUntilExit()
        try out.close(); try err.close()
        return Result(status: p.terminationStatus,
                      stdout: String(decoding: try Foundation.Data(contentsOf: outURL), as: UTF8.self),
                      stderr: String(decoding: try Foundation.Data(contentsOf: errURL), as: UTF8.self))
    }

    /// An empty folder: used as data.path so that, should a config ever slip through validation, the run stops at
    /// data loading instead of training on the real dataset.
    func emptyDataDir() throws -> String {
        let d = tmp.appendingPathComponent("empty-data")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d.path
    }

    var runsDir: String { tmp.appendingPathComponent("runs").path }

    /// Every key of `RunConfig` with its default, except that runs go to the temp dir, data comes from `dataPath` and
    /// the run is tiny. Spelling out every key keeps the error-message tests independent of how missing keys are
    /// defaulted (tested on its own by `testPartialConfigTakesDefaults`).
    func completeConfig(dataPath: String) -> [String: [String: String]] {
        [
            "": ["name": "clitest", "seed": "0"],
            "data": ["dataset": "fashion-mnist", "path": dataPath, "batch_size": "4", "eval_batch_size": "8",
                     "limit_train": "8", "limit_test": "8", "drop_last": "false"],
            "model": ["arch": "resnet20", "in_channels": "0", "num_classes": "0"],
            "optim": ["name": "sgd", "lr": "0.1", "momentum": "0.9", "nesterov": "true", "weight_decay": "0.0005",
                      "beta1": "0.9", "beta2": "0.999", "eps": "1.0e-08"],
            "schedule": ["name": "cosine", "epochs": "1", "warmup_epochs": "0", "step_epochs": "30", "milestones": "[]",
                         "gamma": "0.1", "min_lr": "0"],
            "loss": ["label_smoothing": "0"],
            "runtime": ["threads": "1", "runs_dir": runsDir],
        ]
    }

    /// Only what a user would typically write; everything else must come from the defaults.
    func partialConfig(dataPath: String) -> [String: [String: String]] {
        [
            "": ["name": "clitest"],
            "data": ["path": dataPath, "batch_size": "4", "limit_train": "8", "limit_test": "8"],
            "runtime": ["runs_dir": runsDir],
        ]
    }

    /// Writes `config` as block YAML after applying `edits` ("section.key" or top-level "key" → YAML scalar text;
    /// nil removes the key). `dataPath` defaults to an empty folder.
    func writeConfig(_ edits: [String: String?] = [:], dataPath: String? = nil, complete: Bool = true) throws -> String {
        let data = try dataPath ?? emptyDataDir()
        var c = complete ? completeConfig(dataPath: data) : partialConfig(dataPath: data)
        for (path, value) in edits {
            let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
            let (section, key) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts[0])
            c[section, default: [:]][key] = value
        }
        var lines: [String] = []
        for (k, v) in (c[""] ?? [:]).sorted(by: { $0.key < $1.key }) { lines.append("\(k): \(v)") }
        for (section, keys) in c.sorted(by: { $0.key < $1.key }) where !section.isEmpty {
            lines.append("\(section):")
            for (k, v) in keys.sorted(by: { $0.key < $1.key }) { lines.append("  \(k): \(v)") }
        }
        let p = tmp.appendingPathComponent("config-\(UUID().uuidString).yaml").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    func assertFailed(_ r: Result, mentioning needles: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(r.status, 0, "expected a non-zero exit; stderr: \(r.stderr)", file: file, line: line)
        for n in needles {
            XCTAssertTrue(r.stderr.contains(n), "stderr should contain \(n.debugDescription); got:\n\(r.stderr)",
                          file: file, line: line)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: runsDir), "a failed start must not create a run folder",
                       file: file, line: line)
    }

    // MARK: - bwma train: config errors

    func testMissingConfigFileIsNamed() throws {
        let r = try bwma(["train", "--config", "/nonexistent.yaml"])
        assertFailed(r, mentioning: ["/nonexistent.yaml", "not found"])
    }

    func testUnknownKeySuggestsTheRightOne() throws {
        let cfg = try writeConfig(["schedule.epoch": "3"])
        let r = try bwma(["train", "--config", cfg])
        assertFailed(r, mentioning: [cfg, "schedule.epoch", "did you mean 'epochs'"])
        XCTAssertFalse(r.stderr.contains("apt-get"), "config errors must come before data loading: \(r.stderr)")

        let r2 = try bwma(["train", "--config", try writeConfig(["optim.lr_": "0.1"])])
        assertFailed(r2, mentioning: ["optim.lr_", "did you mean 'lr'"])
    }

    func testUnknownTopLevelKeySuggestion() throws {
        let r = try bwma(["train", "--config", try writeConfig(["sed": "1"])])
        assertFailed(r, mentioning: ["sed", "did you mean 'seed'"])
    }

    func testUnknownOverrideKeySuggestsTheRightOne() throws {
        let r = try bwma(["train", "--config", try writeConfig(), "--set", "optim.momentun=0.5"])
        assertFailed(r, mentioning: ["optim.momentun", "did you mean 'momentum'"])
    }

    func testWrongTypeNamesTheKey() throws {
        let cfg = try writeConfig(["data.batch_size": "many"])
        let r = try bwma(["train", "--config", cfg])
        assertFailed(r, mentioning: [cfg, "data.batch_size", "integer"])
        XCTAssertFalse(r.stderr.contains("apt-get"), r.stderr)
    }

    func testMappingWhereScalarExpectedNamesTheKey() throws {
        let r = try bwma(["train", "--config", try writeConfig(["seed": "{value: 1}"])])
        assertFailed(r, mentioning: ["seed", "expected a single value"])
    }

    func testOutOfRangeValueNamesTheKey() throws {
        let cfg = try writeConfig(["schedule.epochs": "0"])
        let r = try bwma(["train", "--config", cfg])
        assertFailed(r, mentioning: [cfg, "schedule.epochs", ">= 1"])
        XCTAssertFalse(r.stderr.contains("apt-get"), r.stderr)
    }

    func testNegativeLearningRateOverrideNamesTheKey() throws {
        // The file alone is valid (it gets as far as the data, see testEmptyDataFolderSaysHowToInstall); the
        // override makes it invalid, and validation must stop it before the data is touched.
        let cfg = try writeConfig()
        let r = try bwma(["train", "--config", cfg, "--set", "optim.lr=-1"])
        assertFailed(r, mentioning: ["optim.lr", "-1", "positive"])
        XCTAssertFalse(r.stderr.contains("apt-get"), "validation must run before data loading: \(r.stderr)")
    }

    func testMalformedOverrideIsRejected() throws {
        let r = try bwma(["train", "--config", try writeConfig(), "--set", "optim.lr"])
        assertFailed(r, mentioning: ["optim.lr", "key.path=value"])
    }

    func testPartialConfigTakesDefaults() throws {
        // A config naming only a few keys (like configs/*.yaml) must load, the rest taken from RunConfig's defaults:
        // the run then gets as far as the (empty) data folder.
        let data = try emptyDataDir()
        let r = try bwma(["train", "--config", try writeConfig(dataPath: data, complete: false)])
        assertFailed(r, mentioning: ["data.path", data, "apt-get install dataset-fashion-mnist"])
        // An override of a key absent from the file is also completed with defaults around it.
        let r2 = try bwma(["train", "--config", try writeConfig(dataPath: data, complete: false),
                           "--set", "schedule.epochs=0"])
        assertFailed(r2, mentioning: ["schedule.epochs", ">= 1"])
    }

    // MARK: - bwma train: data errors

    func testEmptyDataFolderSaysHowToInstall() throws {
        let data = try emptyDataDir()
        let r = try bwma(["train", "--config", try writeConfig(dataPath: data)])
        assertFailed(r, mentioning: ["data.path", data, "apt-get install dataset-fashion-mnist"])
    }

    func testMissingDataFolderSaysHowToInstall() throws {
        let data = tmp.appendingPathComponent("no-such-dir").path
        let r = try bwma(["train", "--config", try writeConfig(dataPath: data)])
        assertFailed(r, mentioning: ["data.path", data, "apt-get install dataset-fashion-mnist"])
    }

    // MARK: - bwma bench step

    func testBenchStepJSON() throws {
        let r = try bwma(["bench", "step", "--model", "resnet20", "--batch", "4", "--steps", "1", "--warmup", "0",
                          "--input", "1x16x16", "--json"], timeout: 300)
        XCTAssertEqual(r.status, 0, "stderr: \(r.stderr)")
        let lines = r.stdout.split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
        XCTAssertEqual(lines.count, 1, "stdout must be exactly one JSON line:\n\(r.stdout)")
        guard let line = lines.first else { return }
        let obj = try JSONSerialization.jsonObject(with: Foundation.Data(line.utf8))
        guard let dict = obj as? [String: Any] else { return XCTFail("not a JSON object: \(line)") }
        for key in ["images_per_s", "ms_per_step", "peak_rss_mb"] {
            guard let v = (dict[key] as? NSNumber)?.doubleValue else {
                XCTFail("\(key) missing or not a number in \(line)"); continue
            }
            XCTAssertTrue(v > 0 && v.isFinite, "\(key) = \(v)")
        }
        XCTAssertEqual(dict["model"] as? String, "resnet20")
        XCTAssertEqual((dict["batch"] as? NSNumber)?.intValue, 4)
        XCTAssertEqual(dict["input"] as? String, "1x16x16")
        XCTAssertEqual((dict["steps"] as? NSNumber)?.intValue, 1)
        XCTAssertEqual((dict["step_ms"] as? [Any])?.count, 1)
        // images/s and ms/step describe the same measurement: batch · 1000 / ms.
        if let ips = (dict["images_per_s"] as? NSNumber)?.doubleValue, let ms = (dict["ms_per_step"] as? NSNumber)?.doubleValue {
            XCTAssertEqual(ips, 4 * 1000 / ms, accuracy: 1e-6 * ips)
        }
    }

    func testBenchStepUnknownQuantIsRejected() throws {
        let r = try bwma(["bench", "step", "--quant", "bogus", "--steps", "1", "--warmup", "0", "--batch", "1",
                          "--input", "1x8x8"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("bogus"), r.stderr)
        XCTAssertTrue(r.stdout.isEmpty, "nothing should be benchmarked: \(r.stdout)")
    }

    func testBenchStepBadInputShapeIsRejected() throws {
        let r = try bwma(["bench", "step", "--input", "3x32", "--steps", "1"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--input"), r.stderr)
    }

    func testBenchStepUnknownModelIsRejected() throws {
        let r = try bwma(["bench", "step", "--model", "resnet21", "--batch", "1", "--steps", "1", "--warmup", "0",
                          "--input", "1x8x8"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("resnet21") && r.stderr.contains("resnet20"), r.stderr)
    }
}
