import Foundation
import XCTest

/// Hostile input and operator mistakes through `bwma` (issue 15): each is one clear `Error:` line and a non-zero
/// exit, with nothing on disk lost; or, for SIGINT on mpirun, what docs/usage.md says.
extension DistributedCLITests {
    /// A finished 1-epoch FP32 LeNet-5 run (1x28x28 Fashion-MNIST); returns its folder.
    func lenetRun(_ name: String) throws -> String {
        let (s, o) = try run(try binary, ["train", "--config", try config(name)])
        XCTAssertEqual(s, 0, o)
        return temp.appendingPathComponent(name).path
    }

    /// Case 1: data of another shape than the checkpoint's model (segfault with 1x16x16, a silent "evaluation" of
    /// 3x32x32 before); case 2: fewer model classes than the data has.
    func testEvalOnDataOfAnotherShapeAndTooFewClassesAreErrors() throws {
        let dir = try lenetRun("shape")
        for shape in ["1x16x16", "3x32x32"] {
            let (s, o) = try run(try binary, ["eval", "--checkpoint", dir, "--set", "data.dataset=synthetic",
                                              "--set", "data.synthetic_shape=\(shape)"])
            XCTAssertNotEqual(s, 0, o)
            XCTAssert(o.contains("the model expects 1x28x28 inputs") && o.contains("gives \(shape) samples"), o)
            XCTAssertFalse(o.contains("test accuracy"), o)
        }
        let (s2, o2) = try run(try binary, ["train", "--config", try config("five"), "--set", "model.num_classes=5"])
        XCTAssertNotEqual(s2, 0, o2)
        XCTAssert(o2.contains("model.num_classes: '5' is not valid") && o2.contains("10 classes"), o2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.appendingPathComponent("five").path))
    }

    /// Case 4: `data_offsets` near 2^63 (crashed eval, export and resume); case 7: metadata claiming a
    /// 1x100000x100000 input.
    func testCraftedCheckpointsAreRejectedByEvalExportAndResume() throws {
        let dir = try lenetRun("craft")
        let last = "\(dir)/checkpoints/last.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: last))
        let n = bytes.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        var header = try XCTUnwrap(try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as? [String: Any])
        func file(_ h: [String: Any]) throws -> Data {
            var json = try JSONSerialization.data(withJSONObject: h, options: [.sortedKeys])
            while json.count % 8 != 0 { json.append(0x20) }
            var len = UInt64(json.count).littleEndian
            var d = Data(bytes: &len, count: 8)
            d.append(json)
            d.append(bytes.subdata(in: (8 + n)..<bytes.count))
            return d
        }
        let name = try XCTUnwrap(header.keys.filter { $0 != "__metadata__" }.sorted().first)
        var entry = try XCTUnwrap(header[name] as? [String: Any])
        let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
        entry["data_offsets"] = [Int.max - (offsets[1] - offsets[0]), Int.max]
        var crafted = header
        crafted[name] = entry
        var meta = try XCTUnwrap(header["__metadata__"] as? [String: String])
        meta["input_shape"] = "1x100000x100000"
        meta["metadata_checksum"] = Self.metadataChecksum(meta)  // crafted consistently: the limit must catch it
        header["__metadata__"] = meta
        let cases = [("offsets", try file(crafted), "truncated: tensor '\(name)'"),
                     ("huge", try file(header), "metadata input_shape 1x100000x100000")]
        _ = try assertEvalAndExportRefuse(cases, naming: { $0 })
        // A metadata change without the matching checksum is refused as such.
        var tampered = try XCTUnwrap(header["__metadata__"] as? [String: String])
        tampered["ranks"] = "3"
        header["__metadata__"] = tampered
        let tamperedPath = temp.appendingPathComponent("tampered.safetensors").path
        try (try file(header)).write(to: URL(fileURLWithPath: tamperedPath))
        let (st, ot) = try run(try binary, ["eval", "--checkpoint", tamperedPath])
        XCTAssertNotEqual(st, 0, ot)
        XCTAssert(ot.contains("metadata checksum mismatch"), ot)
        // Resume reads the same checkpoint: replace the run's last checkpoint with the crafted one.
        try cases[0].1.write(to: URL(fileURLWithPath: last))
        let (s, o) = try run(try binary, ["train", "--resume", dir, "--set", "schedule.epochs=2"])
        XCTAssertNotEqual(s, 0, o)
        XCTAssert(o.contains("truncated: tensor '\(name)'"), o)
    }

    /// Cases 6, 7, 10: YAML bombs, allocation sizes, overflowing epochs, Adam eps, duplicate keys, `data.path`
    /// naming a file, `drop_last` with no step, run names outside the runs folder.
    func testConfigMistakesAreOneClearLine() throws {
        let cfg = try config("cfg")
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let dupe = temp.appendingPathComponent("dupe.yaml").path
        try "name: a\nname: b\n".write(toFile: dupe, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["--config", cfg, "--set", "quant.layers=\(deep)"], "YAML refused"),
            (["--config", cfg, "--set", "data.batch_size=100000000"], "data.batch_size: '100000000' is not valid"),
            (["--config", cfg, "--set", "data.eval_batch_size=100000000"], "data.eval_batch_size: '100000000' is not valid"),
            (["--config", cfg, "--set", "schedule.epochs=4611686018427387904"], "schedule.epochs"),
            (["--config", cfg, "--set", "optim.name=adam", "--set", "optim.eps=.inf"], "optim.eps: 'inf' is not valid"),
            (["--config", dupe], "duplicate key 'name'"),
            (["--config", cfg, "--set", "data.path=\(cfg)"], "is a file, not a folder"),
            (["--config", cfg, "--set", "data.drop_last=true", "--set", "data.batch_size=1000"], "drop_last"),
            (["--config", cfg, "--set", "name=.."], "name: '..' is not valid"),
        ]
        for (args, message) in cases {
            let (s, o) = try run(try binary, ["train"] + args)
            XCTAssertNotEqual(s, 0, o)
            let errors = o.split(separator: "\n").filter { $0.hasPrefix("Error:") }
            XCTAssertEqual(errors.count, 1, o)
            XCTAssert(errors.first?.contains(message) ?? false, "\(args.suffix(2)): \(o)")
            XCTAssertLessThan(errors.first?.count ?? 0, 600, "one readable line")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.appendingPathComponent("cfg").path), "nothing written")
    }

    /// Case 9: a reused run name, two writers at once, and export over its own source.
    func testRunFoldersAreOwned() throws {
        let dir = try lenetRun("owned")
        let best = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/checkpoints/best.safetensors"))
        let metrics = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/metrics.jsonl"))
        let (s, o) = try run(try binary, ["train", "--config", try config("owned"), "--set", "optim.lr=0.01"])
        XCTAssertNotEqual(s, 0, o)
        XCTAssert(o.contains("already holds checkpoints") && o.contains("--resume \(dir)") && o.contains("--overwrite"), o)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/checkpoints/best.safetensors")), best)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/metrics.jsonl")), metrics)

        // A second writer while the first runs (a long run in the same folder) fails at once.
        let out = temp.appendingPathComponent("first.txt")
        let (p, h) = try start(try binary, ["train", "--config", try config("busy"), "--set", "schedule.epochs=1000"], output: out)
        defer { if p.isRunning { p.terminate() }; p.waitUntilExit(); try? h.close() }
        let lock = temp.appendingPathComponent("busy/.lock").path
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline && ((try? String(contentsOfFile: lock, encoding: .utf8)) ?? "").isEmpty {
            usleep(20_000)
        }
        let t0 = Date()
        let (s2, o2) = try run(try binary, ["train", "--config", try config("busy"), "--overwrite"])
        XCTAssertNotEqual(s2, 0, o2)
        XCTAssert(o2.contains("is in use by another bwma process (pid \(p.processIdentifier))"), o2)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 20)
        XCTAssert(p.isRunning, "the first run goes on")

        // --overwrite replaces a finished run.
        let (s3, o3) = try run(try binary, ["train", "--config", try config("owned"), "--overwrite"])
        XCTAssertEqual(s3, 0, o3)
        let lines = try String(contentsOfFile: "\(dir)/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.contains("\"kind\":\"epoch\"") }.count, 1, "the old metrics are gone")

        // Export onto its own source.
        let last = "\(dir)/checkpoints/last.safetensors"
        let before = try Data(contentsOf: URL(fileURLWithPath: last))
        let (s4, o4) = try run(try binary, ["export", "--checkpoint", dir, "--out", last])
        XCTAssertNotEqual(s4, 0, o4)
        XCTAssert(o4.contains("is the checkpoint being exported"), o4)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: last)), before)
    }

    /// docs/usage.md: SIGINT to `mpirun` itself makes Open MPI send SIGTERM to every rank; they stop at the next
    /// step boundary, rank 0 writes the checkpoint and prints the resume command, and the job exits non-zero.
    func testSIGINTOnMpirunCheckpointsAsDocumented() throws {
        let dir = temp.appendingPathComponent("int").path
        let out = temp.appendingPathComponent("int.txt")
        let (p, h) = try start(Self.which("mpirun")!, mpi2 + [try binary, "train", "--config", try config("int"),
                                                              "--set", "schedule.epochs=1000"], output: out)
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline
            && !((try? String(contentsOfFile: "\(dir)/metrics.jsonl", encoding: .utf8)) ?? "").contains("\"epoch\"") {
            usleep(20_000)
        }
        XCTAssert(p.isRunning, "the run ended before it could be interrupted")
        kill(p.processIdentifier, SIGINT)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.terminate(); XCTFail("mpirun did not stop") }
        p.waitUntilExit()
        try h.close()
        let o = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        XCTAssertNotEqual(p.terminationStatus, 0, o)
        XCTAssert(o.contains("interrupted at step") && o.contains("--resume \(dir)"), o)
        let step = try globalStep("\(dir)/checkpoints/last.safetensors")
        XCTAssertGreaterThan(step, 0)
    }

    /// `Checkpoint.metadataChecksum`, written out here: FNV-1a 64 over `key NUL value NUL` in sorted key order.
    static func metadataChecksum(_ m: [String: String]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var bytes: [UInt8] = []
        for k in m.keys.sorted() where k != "checksum" && k != "metadata_checksum" {
            bytes += Array(k.utf8) + [0] + Array(m[k]!.utf8) + [0]
        }
        let words = bytes.count / 8
        for i in 0..<words {
            var w: UInt64 = 0
            for b in 0..<8 { w |= UInt64(bytes[i * 8 + b]) << (8 * UInt64(b)) }
            h = (h ^ w) &* 0x100_0000_01b3
        }
        for i in (words * 8)..<bytes.count { h = (h ^ UInt64(bytes[i])) &* 0x100_0000_01b3 }
        return String(format: "%016llx", h)
    }
}
