import Foundation
import RunConfiguration
import TensorEngine

/// Checkpoints and resume: the trainer's persistence, kept apart from the loop itself.
extension Trainer {
    /// Continues from `checkpoint` (loaded from `path` on every rank): parameters, buffers (this rank's when the
    /// checkpoint holds every rank's), optimiser state and the position in the run, on this job's number of ranks
    /// (`Checkpoint.resumeLayout`: the trainer must have been built with its `perRankBatch`). The configuration must
    /// match the checkpoint's up to `schedule.epochs`, `runtime` and `distributed.timeout_s` (`Checkpoint.configHash`).
    public func resume(from checkpoint: Checkpoint, path: String) throws {
        let stored = checkpoint.file.metadata["config_hash"] ?? ""
        let mine = try Checkpoint.configHash(config)
        guard stored == mine else {
            throw FileError.checkpoint(path, "config hash mismatch (checkpoint \(stored), this run \(mine)): "
                + "only schedule.epochs and runtime.* may change when resuming")
        }
        let layout = try checkpoint.resumeLayout(ranks: communicator.size, mode: config.runtime.resume_batch, path: path)
        guard layout.perRankBatch == batchSize else {
            throw FileError.checkpoint(path, "this trainer runs batch \(batchSize) per rank, the resume needs "
                + "\(layout.perRankBatch) (build it with Checkpoint.resumeLayout's perRankBatch)")
        }
        try checkpoint.checkShape(of: model, path: path)
        try checkpoint.restore(model: model, optimizer: step.optimizer, rank: communicator.rank, path: path)
        var p = try checkpoint.progress(path: path)
        p.epochSamples = layout.epochOffset
        guard p.epoch < config.schedule.epochs || (p.epoch == config.schedule.epochs && p.stepInEpoch == 0) else {
            throw FileError.checkpoint(path, "the checkpoint is at epoch \(p.epoch + 1) but schedule.epochs is \(config.schedule.epochs)")
        }
        if communicator.rank != 0 { p.lossSum = 0; p.correct = 0; p.seen = 0 }  // the sums are global, held by rank 0
        start = p
        lastCheckpoint = Checkpoint.resolve(path)
        try trimMetrics(to: p)
    }

    /// Drops the metrics.jsonl lines written after the checkpoint `p` (rank 0): a run that stopped after logging
    /// an epoch or steps but before their checkpoint was written (a failed write, a kill) redoes them on resume,
    /// and must not log them twice.
    func trimMetrics(to p: TrainingProgress) throws {
        guard let folder else { return }
        let url = folder.url.appendingPathComponent("metrics.jsonl")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let kept = lines.filter { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return true }
            if o["kind"] as? String == "step" { return ((o["step"] as? NSNumber)?.intValue ?? 0) <= p.globalStep }
            return ((o["epoch"] as? NSNumber)?.intValue ?? 0) <= p.epoch
        }
        guard kept.count != lines.count else { return }
        try folder.write("metrics.jsonl", Data(kept.map { $0 + "\n" }.joined().utf8))
    }

    /// Writes checkpoints/last.safetensors (and best.safetensors when `best`) with `progress`. Collective: every
    /// rank calls it at the same step (partial sums and every rank's buffers are gathered). Throws
    /// `TrainingStop.nonFinite` instead of writing non-finite weights. Returns the path written (rank 0).
    @discardableResult
    func saveCheckpoint(_ progress: TrainingProgress, best: Bool) throws -> String? {
        let store = model.store
        var finite = true
        for i in 0..<store.parameterCount where !store.values[i].isFinite { finite = false; break }
        guard finite else {  // the weights are the same on every rank: every rank stops here
            throw TrainingStop.nonFinite(step: progress.globalStep, epoch: progress.epoch + 1, lastCheckpoint: lastCheckpoint)
        }
        var p = progress
        var sums = [p.lossSum, p.correct, p.seen]
        try communicator.allreduce(&sums, .sum, "checkpoint partial sums")
        p.lossSum = sums[0]; p.correct = sums[1]; p.seen = sums[2]
        var rankBuffers: [Float]?
        if communicator.size > 1 && store.bufferCount > 0 {
            let mine = (0..<store.bufferCount).map { Double(store.bufferValues[$0]) }
            rankBuffers = try communicator.gather(mine, root: 0, "checkpoint: every rank's buffers").map { Float($0) }
        }
        guard let folder else { return nil }
        let c = try Checkpoint.capture(model: model, optimizer: step.optimizer, config: config, progress: p,
                                       rankBuffers: rankBuffers, ranks: communicator.size, batch: batchSize)
        let bytes = try c.encoded()
        let last = folder.checkpoints.appendingPathComponent("last.safetensors")
        try AtomicFile.write(bytes, to: last)
        if best { try AtomicFile.write(bytes, to: folder.checkpoints.appendingPathComponent("best.safetensors")) }
        lastCheckpoint = last.path
        return last.path
    }
}

/// One metrics.jsonl line of kind "step": the mean global batch loss over the last `log_every_steps` steps.
public struct StepMetrics: Codable, Sendable {
    public var kind = "step"
    public var step: Int
    public var epoch: Int
    public var lr: Double
    public var loss: Double
    public var images_per_s: Double
}

/// Accumulates steps between metrics.jsonl step lines.
struct StepLog {
    var lossSum = 0.0, steps = 0, images = 0.0, since = ProcessClock.now()

    mutating func add(_ step: Int, epoch: Int, loss: Double, images: Int, lr: Double, every: Int, folder: RunFolder?) throws {
        lossSum += loss; steps += 1; self.images += Double(images)
        guard step % every == 0 else { return }
        let now = ProcessClock.now()
        let m = StepMetrics(step: step, epoch: epoch, lr: lr, loss: lossSum / Double(steps),
                            images_per_s: self.images / Swift.max(now - since, 1e-9))
        try folder?.appendLine("metrics.jsonl", String(decoding: try JSONEncoder.sorted.encode(m), as: UTF8.self))
        self = StepLog()
    }
}
