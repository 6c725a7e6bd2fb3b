import Foundation
import XCTest

/// Resuming on another number of ranks and the collective timeout, end to end under mpirun (docs/distributed.md).
extension DistributedCLITests {
    /// LeNet-5 (no batch norm: data-parallel steps equal the single-process step for any split of the global batch),
    /// 2 epochs of 32 global batches of 64, a constant learning rate (the step schedule decays only at epoch 30),
    /// a checkpoint every 3 steps.
    func rankChangeConfig(_ name: String, batch: Int) throws -> [String] {
        ["--config", try config(name, extra: "", data: "limit_train: 2048, limit_test: 200, batch_size: \(batch)"),
         "--set", "schedule.epochs=2", "--set", "schedule.name=step", "--set", "schedule.step_epochs=30",
         "--set", "optim.lr=0.02", "--set", "runtime.checkpoint_every_steps=3"]
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    func progress(_ path: String) throws -> [String: Any] {
        let p = try checkpointMetadata(path)["progress"] ?? "{}"
        return try JSONSerialization.jsonObject(with: Data(p.utf8)) as? [String: Any] ?? [:]
    }

    func epochLosses(_ n: String) throws -> [Double] {
        try String(contentsOf: temp.appendingPathComponent("\(n)/metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").filter { $0.contains("\"kind\":\"epoch\"") }
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["train_loss"] as? Double }
    }

    /// 2 → 1: a mid-epoch checkpoint of a 2-rank run (copied while the run goes on) resumes on 1 rank with the global
    /// batch kept (64) and the epoch's remaining samples, and ends the epoch where the 2-rank run ends it (up to the
    /// float rounding of averaging 64 gradients in one sum instead of two); 1 → 2: a finished 1-rank epoch continues
    /// on 2 ranks of batch 32 and ends where the uninterrupted 1-rank run ends. The loss curve continues: the epoch
    /// lines match.
    func testResumeOnFewerAndMoreRanks() throws {
        let mpirun = Self.which("mpirun")!, bin = try binary
        let whole = temp.appendingPathComponent("two-whole"), cut = temp.appendingPathComponent("two-cut")
        try FileManager.default.createDirectory(at: cut.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        let out = temp.appendingPathComponent("two-whole.txt")
        // One epoch: 2- and 1-rank runs differ by float rounding, which training amplifies (about 100x per epoch
        // here once the loss falls fast), so the comparison stays within the epoch of the resume.
        let (p, h) = try start(mpirun, mpi2 + [bin, "train"] + (try rankChangeConfig("two-whole", batch: 32))
                                  + ["--set", "schedule.epochs=1"], output: out)
        let last = whole.appendingPathComponent("checkpoints/last.safetensors").path
        var copied = false
        while p.isRunning && !copied {
            if let d = try? Data(contentsOf: URL(fileURLWithPath: last)), ((try? progress(last))?["stepInEpoch"] as? Int ?? 0) > 0 {
                try d.write(to: cut.appendingPathComponent("checkpoints/last.safetensors"))
                try FileManager.default.copyItem(at: whole.appendingPathComponent("config.yaml"),
                                                 to: cut.appendingPathComponent("config.yaml"))
                copied = (try? progress(cut.appendingPathComponent("checkpoints/last.safetensors").path))?["stepInEpoch"] as? Int ?? 0 > 0
            }
            usleep(2_000)
        }
        p.waitUntilExit()
        try h.close()
        XCTAssertEqual(p.terminationStatus, 0, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
        XCTAssert(copied, "no mid-epoch checkpoint seen")
        let at = try globalStep(cut.appendingPathComponent("checkpoints/last.safetensors").path)
        let (s1, o1) = try run(bin, ["train", "--resume", cut.path])
        XCTAssertEqual(s1, 0, o1)
        XCTAssert(o1.contains("written by 2 rank(s) of batch 32; this job has 1 rank(s) of batch 64 (global batch 64"), o1)
        XCTAssertLessThan(maxDifference(try parameters("two-cut"), try parameters("two-whole")), 1e-5, "2 → 1 at step \(at)")
        XCTAssertEqual(try checkpointMetadata(cut.appendingPathComponent("checkpoints/last.safetensors").path)["ranks"], "1")

        let (r1, p1) = try run(bin, ["train"] + (try rankChangeConfig("one-whole", batch: 64)))
        XCTAssertEqual(r1, 0, p1)
        let (r2, p2) = try run(bin, ["train"] + (try rankChangeConfig("one-then-two", batch: 64)) + ["--set", "schedule.epochs=1"])
        XCTAssertEqual(r2, 0, p2)
        let (r3, p3) = try run(mpirun, mpi2 + [bin, "train", "--resume", temp.appendingPathComponent("one-then-two").path,
                                               "--set", "schedule.epochs=2"])
        XCTAssertEqual(r3, 0, p3)
        XCTAssert(p3.contains("this job has 2 rank(s) of batch 32 (global batch 64"), p3)
        XCTAssertLessThan(maxDifference(try parameters("one-then-two"), try parameters("one-whole")), 1e-5)
        for (resumed, reference) in [("two-cut", "two-whole"), ("one-then-two", "one-whole")] {
            let (a, b) = (try epochLosses(resumed), try epochLosses(reference))
            XCTAssertEqual(a.count, resumed == "two-cut" ? 1 : 2, resumed)
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-4 * abs(y), "\(resumed) vs \(reference)") }
        }
    }

    /// The collective timeout: rank 1 is stopped (SIGSTOP) after the first checkpoint; rank 0 ends the job within
    /// timeout + 10 s with a message naming the step, the collective and the missing rank, and the checkpoint
    /// stays intact (it evaluates).
    func testAStoppedRankEndsTheJobAfterTheTimeout() throws {
        let timeout = 8.0
        let dir = temp.appendingPathComponent("stalled").path
        let last = "\(dir)/checkpoints/last.safetensors"
        var stoppedAt = Date()
        let (s, o) = try interruptRun(try rankChangeConfig("stalled", batch: 32) + [
            "--set", "data.limit_train=60000", "--set", "distributed.timeout_s=\(timeout)"],
            ready: { FileManager.default.fileExists(atPath: last) },
            interrupt: { ranks in
                stoppedAt = Date()
                if ranks.count == 2 { kill(ranks[1], SIGSTOP) }
            })
        let elapsed = Date().timeIntervalSince(stoppedAt)
        XCTAssertNotEqual(s, 0, o)
        XCTAssertLessThan(elapsed, timeout + 10, o)
        XCTAssert(o.contains("collective timeout: step ") && o.contains("did not complete in")
                  && o.contains("rank(s) 1 did not arrive"), o)
        let (se, oe) = try run(try binary, ["eval", "--checkpoint", last, "--json"])
        XCTAssertEqual(se, 0, oe)
    }
}
