import Foundation
import XCTest

/// Checkpoints, resume, failures (NaN loss, SIGINT, unwritable or full run folder, bad checkpoints) and export,
/// end to end through `bwma` (under mpirun where it matters).
extension DistributedCLITests {
    /// A 2-rank BWMA W1A4 ResNet-20 run: 2 epochs of 16 steps, a checkpoint every 4 steps, step lines every 2.
    func resumableConfig(_ name: String) throws -> [String] {
        ["--config", try config(name, extra: "quant: {weights: bwma, activations: bwma, abits: 4}", arch: "resnet20",
                                data: "limit_train: 1024, limit_test: 200, batch_size: 32"),
         "--set", "runtime.checkpoint_every_steps=4", "--set", "runtime.log_every_steps=2", "--set", "schedule.epochs=2"]
    }

    var mpi2: [String] { ["-np", "2", "--oversubscribe", "--bind-to", "none"] }

    func checkpointMetadata(_ path: String) throws -> [String: String] {
        let d = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = d.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        let header = try JSONSerialization.jsonObject(with: d.subdata(in: 8..<(8 + n))) as? [String: Any]
        return header?["__metadata__"] as? [String: String] ?? [:]
    }

    func globalStep(_ path: String) throws -> Int {
        let p = try checkpointMetadata(path)["progress"] ?? "{}"
        let o = try JSONSerialization.jsonObject(with: Data(p.utf8)) as? [String: Any]
        return (o?["globalStep"] as? NSNumber)?.intValue ?? -1
    }

    /// Starts a 2-rank run, waits for `ready`, then calls `interrupt` with the ranks' pids (rank order); returns
    /// the job's exit status, its output, and whether it had finished before the interruption.
    func interruptRun(_ cfg: [String], ready: () -> Bool, interrupt: ([Int32]) -> Void) throws -> (Int32, String) {
        let out = temp.appendingPathComponent("interrupt-\(UUID()).txt")
        let (p, h) = try start(Self.which("mpirun")!, mpi2 + [try binary, "train"] + cfg, output: out)
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline && !ready() { usleep(10_000) }
        let ranks = Self.children(of: p.processIdentifier).sorted { Self.rank(of: $0) < Self.rank(of: $1) }
        XCTAssert(p.isRunning, "the run ended before it could be interrupted")
        interrupt(ranks)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.terminate(); for r in ranks { kill(r, SIGKILL) }; XCTFail("the job hung") }
        p.waitUntilExit()
        try h.close()
        return (p.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }

    /// OMPI_COMM_WORLD_RANK of a process (from /proc/PID/environ).
    static func rank(of pid: Int32) -> Int {
        guard let env = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")) else { return 99 }
        for entry in env.split(separator: 0) {
            let s = String(decoding: entry, as: UTF8.self)
            if s.hasPrefix("OMPI_COMM_WORLD_RANK=") { return Int(s.dropFirst(21)) ?? 99 }
        }
        return 99
    }

    /// Acceptance: a 2-rank run killed with SIGKILL after a checkpoint, then resumed with --resume, ends with
    /// weights bit-identical to an uninterrupted run; so does one stopped by SIGINT on rank 0, which checkpoints
    /// and exits 130 with the resume command.
    func testKilledAndInterruptedRunsResumeBitIdentical() throws {
        let mpirun = Self.which("mpirun")!, bin = try binary
        let (s0, o0) = try run(mpirun, mpi2 + [bin, "train"] + (try resumableConfig("whole")))
        XCTAssertEqual(s0, 0, o0)
        let reference = try parameters("whole")

        // SIGKILL both ranks as soon as the first mid-epoch checkpoint exists.
        let killedDir = temp.appendingPathComponent("killed").path
        let last = "\(killedDir)/checkpoints/last.safetensors"
        let (sk, ok) = try interruptRun(try resumableConfig("killed"), ready: { FileManager.default.fileExists(atPath: last) },
                                        interrupt: { for r in $0 { kill(r, SIGKILL) } })
        XCTAssertNotEqual(sk, 0, ok)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(killedDir)/summary.json"), "the run was not cut short")
        let killedAt = try globalStep(last)
        XCTAssert(killedAt > 0 && killedAt < 32, "checkpoint at step \(killedAt)")
        let (sr, or) = try run(mpirun, mpi2 + [bin, "train", "--resume", killedDir])
        XCTAssertEqual(sr, 0, or)
        XCTAssert(or.contains("resuming from"), or)
        XCTAssertEqual(try parameters("killed"), reference, "SIGKILL at step \(killedAt) + resume must be bit-identical")

        // SIGINT to rank 0 once the first step line is in metrics.jsonl.
        let intDir = temp.appendingPathComponent("sigint").path
        let (si, oi) = try interruptRun(try resumableConfig("sigint"), ready: {
            ((try? String(contentsOfFile: "\(intDir)/metrics.jsonl", encoding: .utf8)) ?? "").contains("\"step\"")
        }, interrupt: { if let r0 = $0.first { kill(r0, SIGINT) } })
        XCTAssertNotEqual(si, 0, oi)
        XCTAssert(oi.contains("interrupted at step") && oi.contains("--resume \(intDir)"), oi)
        XCTAssertFalse(oi.contains("signal 9"), "the ranks must exit by themselves: \(oi)")
        let stoppedAt = try globalStep("\(intDir)/checkpoints/last.safetensors")
        XCTAssert(stoppedAt > 0 && stoppedAt < 32, "checkpoint at step \(stoppedAt)")
        let (sr2, or2) = try run(mpirun, mpi2 + [bin, "train", "--resume", intDir])
        XCTAssertEqual(sr2, 0, or2)
        XCTAssertEqual(try parameters("sigint"), reference, "SIGINT at step \(stoppedAt) + resume must be bit-identical")
        // Epoch lines of the resumed runs match the uninterrupted run's (the partial sums travel in the checkpoint).
        func epochLosses(_ n: String) throws -> [String] {
            try String(contentsOf: temp.appendingPathComponent("\(n)/metrics.jsonl"), encoding: .utf8)
                .split(separator: "\n").filter { $0.contains("\"kind\":\"epoch\"") }
                .map { String($0.split(separator: ",").first { $0.hasPrefix("\"train_loss\"") } ?? "") }
        }
        // To 1e-12: a checkpoint sums the ranks' partial sums early, so the resumed epoch adds the same numbers in
        // another association (the parameters above are bit-identical).
        let (killedLosses, wholeLosses) = (try epochLosses("killed"), try epochLosses("whole"))
        XCTAssertEqual(killedLosses.count, wholeLosses.count)
        for (k, w) in zip(killedLosses, wholeLosses) {
            let value = { (s: String) in Double(s.split(separator: ":").last?.trimmingCharacters(in: CharacterSet(charactersIn: "} ")) ?? "") ?? .nan }
            XCTAssertEqual(value(k), value(w), accuracy: 1e-12 * abs(value(w)), "\(k) vs \(w)")
        }
        XCTAssertEqual(try epochLosses("whole").count, 2)
    }

    /// A loss that turns NaN (the step schedule multiplies lr by 1e30 after epoch 1) stops both ranks with a
    /// message and a non-zero exit; the epoch-1 checkpoint stays intact and loadable.
    func testNonFiniteLossStopsWithTheLastGoodCheckpoint() throws {
        let cfg = try config("nan")
        let (s, o) = try run(Self.which("mpirun")!, mpi2 + [try binary, "train", "--config", cfg, "--set", "schedule.epochs=3",
                                                           "--set", "schedule.name=step", "--set", "schedule.step_epochs=1",
                                                           "--set", "schedule.gamma=1.0e30"])
        XCTAssertNotEqual(s, 0, o)
        XCTAssert(o.contains("NaN/Inf") && o.contains("Last good checkpoint"), o)
        XCTAssertFalse(o.contains("signal"), "both ranks must stop by themselves: \(o)")
        let last = temp.appendingPathComponent("nan/checkpoints/last.safetensors").path
        let progress = try checkpointMetadata(last)["progress"] ?? ""
        XCTAssert(progress.contains("\"epoch\":1") && progress.contains("\"stepInEpoch\":0"), progress)
        let (se, oe) = try run(try binary, ["eval", "--checkpoint", last, "--json"])
        XCTAssertEqual(se, 0, oe)
        XCTAssert(oe.contains("\"test_accuracy\""), oe)
    }
}
