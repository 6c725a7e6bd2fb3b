import Foundation
import XCTest

/// Run-folder and checkpoint failures, bad checkpoint files and the export, through `bwma` in one process.
extension DistributedCLITests {
    /// A finished 1-epoch LeNet-5 BWMA W1A4 run (binary middle layers); returns its last checkpoint.
    func trainedCheckpoint(_ name: String) throws -> String {
        let cfg = try config(name, extra: "quant: {weights: bwma, activations: bwma, abits: 4, first_layer: quantized}")
        let (s, o) = try run(try binary, ["train", "--config", cfg])
        XCTAssertEqual(s, 0, o)
        return temp.appendingPathComponent("\(name)/checkpoints/last.safetensors").path
    }

    func testUnwritableRunFolderIsAClearError() throws {
        // Root ignores permissions: a path below a regular file fails for everyone (ENOTDIR).
        let file = temp.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        let (s, o) = try run(try binary, ["train", "--config", try config("nowrite"), "--set", "runtime.runs_dir=\(file.path)"])
        XCTAssertNotEqual(s, 0, o)
        XCTAssert(o.contains("run folder \(file.path)/nowrite is not writable") && o.contains("Not a directory"), o)
    }

    /// A full file system (a 256 KiB tmpfs) gives an error naming the checkpoint file and ENOSPC, and leaves no
    /// temporary file behind.
    func testFullRunFolderIsAClearError() throws {
        let mnt = temp.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: mnt, withIntermediateDirectories: true)
        let (m, mo) = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt.path])
        guard m == 0 else { throw XCTSkip("cannot mount a small tmpfs here (\(mo)); needs root with CAP_SYS_ADMIN") }
        defer { _ = try? run("/bin/umount", [mnt.path]) }
        let (s, o) = try run(try binary, ["train", "--config", try config("full"), "--set", "runtime.runs_dir=\(mnt.path)",
                                          "--set", "runtime.save_parameters=false"])
        XCTAssertNotEqual(s, 0, o)
        XCTAssert(o.contains("cannot write \(mnt.path)/full/checkpoints/last.safetensors") && o.contains("No space left"), o)
        let left = try FileManager.default.contentsOfDirectory(atPath: "\(mnt.path)/full/checkpoints")
        XCTAssertEqual(left, [], "temporary files must be removed")
    }

    /// Writes each case's bytes to LABEL.safetensors and checks that `bwma eval` and `bwma export` refuse it: a
    /// non-zero exit, a message holding `naming(path)` and the case's problem, and no export written. Returns the
    /// files, for checks of their own.
    func assertEvalAndExportRefuse(_ cases: [(String, Data, String)], naming: (String) -> String) throws
        -> [(label: String, path: String, data: Data)] {
        try cases.map { label, data, problem in
            let path = temp.appendingPathComponent("\(label).safetensors").path
            try data.write(to: URL(fileURLWithPath: path))
            for cmd in [["eval", "--checkpoint", path], ["export", "--checkpoint", path, "--out", "\(path).out"]] {
                let (s, o) = try run(try binary, cmd)
                XCTAssertNotEqual(s, 0, "\(label): \(o)")
                XCTAssert(o.contains(naming(path)) && o.contains(problem), "\(label): \(o)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(path).out"))
            return (label, path, data)
        }
    }

    /// Truncated, foreign, corrupted and mismatched checkpoints: one error naming the file and the problem,
    /// non-zero exit, and the file itself untouched.
    func testBadCheckpointsAreRejected() throws {
        let good = try trainedCheckpoint("bad")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        var flipped = bytes
        flipped[bytes.count - 3] ^= 0x40
        let cases: [(String, Data, String)] = [
            ("truncated", bytes.prefix(bytes.count - 100), "truncated"),
            ("foreign", Data("GIF89a not a checkpoint at all".utf8), "not a safetensors file"),
            ("corrupted", flipped, "checksum mismatch"),
        ]
        for file in try assertEvalAndExportRefuse(cases, naming: { "checkpoint \($0): " }) {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file.path)), file.data, "\(file.label) was modified")
        }
        // Resuming with a change that alters the numbers: config hash mismatch, nothing written.
        let dir = temp.appendingPathComponent("bad").path
        let metrics = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/metrics.jsonl"))
        let (s, o) = try run(try binary, ["train", "--resume", dir, "--set", "optim.lr=0.5", "--set", "schedule.epochs=2"])
        XCTAssertNotEqual(s, 0, o)
        XCTAssert(o.contains("config hash mismatch") && o.contains(good), o)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/metrics.jsonl")), metrics)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: good)), bytes)
        // A missing run folder and a bad new key value.
        let (s2, o2) = try run(try binary, ["train", "--resume", temp.appendingPathComponent("nope").path])
        XCTAssertNotEqual(s2, 0)
        XCTAssert(o2.contains("nope/config.yaml: config file not found"), o2)
        let (s3, o3) = try run(try binary, ["train", "--config", try config("neg"), "--set", "runtime.checkpoint_every_steps=-1"])
        XCTAssertNotEqual(s3, 0)
        XCTAssert(o3.contains("runtime.checkpoint_every_steps") && o3.contains(">= 0"), o3)
        // Extending a finished run is allowed and continues from its last checkpoint.
        let (s4, o4) = try run(try binary, ["train", "--resume", dir, "--set", "schedule.epochs=2"])
        XCTAssertEqual(s4, 0, o4)
        XCTAssert(o4.contains("resuming from") && o4.contains("epoch 2/2"), o4)
    }

    /// `bwma export` writes the documented tensors; `bwma eval --json` prints one object; the Python check
    /// (bench/check_export.py with the `safetensors` package) accepts the file where a venv with it exists.
    func testExportAndEval() throws {
        let last = try trainedCheckpoint("exp")
        let out = temp.appendingPathComponent("model.safetensors").path
        let (s, o) = try run(try binary, ["export", "--checkpoint", String(last.dropLast(".safetensors".count)),
                                          "--out", out, "--json"])
        XCTAssertEqual(s, 0, o)
        let json = o.split(separator: "\n").filter { $0.hasPrefix("{") }
        XCTAssertEqual(json.count, 1, o)
        let obj = try JSONSerialization.jsonObject(with: Data(json.first.map { String($0) }?.utf8 ?? "".utf8)) as? [String: Any]
        let tensors = obj?["tensors"] as? [String: [String: Any]] ?? [:]
        // LeNet-5 (conv1 quantized by first_layer, conv2 and fc1, fc2 quantized, fc3 the FP32 classifier).
        XCTAssertEqual(tensors["conv2.B"]?["dtype"] as? String, "U8")
        XCTAssertEqual(tensors["conv2.alpha"]?["shape"] as? [Int], [16])
        XCTAssertEqual(tensors["conv2.B"]?["shape"] as? [Int], [16, (6 * 25 + 7) / 8])
        XCTAssertNotNil(tensors["conv2.input_clip"])
        XCTAssertNil(tensors["conv2.weight"])
        XCTAssertEqual(tensors["fc3.weight"]?["dtype"] as? String, "F32")
        let (se, oe) = try run(try binary, ["eval", "--checkpoint", temp.appendingPathComponent("exp").path, "--json"])
        XCTAssertEqual(se, 0, oe)
        let metrics = try String(contentsOf: temp.appendingPathComponent("exp/metrics.jsonl"), encoding: .utf8)
        let acc = oe.split(separator: ",").first { $0.contains("\"test_accuracy\"") }.map { String($0.split(separator: ":")[1]) }
        XCTAssert(acc.map { metrics.contains("\"test_accuracy\":\($0)") } ?? false, "eval \(oe) vs training \(metrics)")
        for python in ["/opt/stvenv/bin/python", "/opt/torchvenv/bin/python"] where FileManager.default.isExecutableFile(atPath: python) {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../bench/check_export.py").standardized.path
            let (sp, op) = try run(python, [script, out])
            if op.contains("No module named") { continue }
            XCTAssertEqual(sp, 0, op)
            XCTAssert(op.contains("\"binary_layers\": 4"), op)
            return
        }
        print("note: no Python venv with safetensors (python3 -m venv /opt/stvenv && /opt/stvenv/bin/pip install safetensors numpy); Python check skipped")
    }
}
