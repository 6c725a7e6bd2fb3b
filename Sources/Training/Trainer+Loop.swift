import CIMSimulator
import Data
import Foundation
import Models
import Optim
import RunConfiguration
import TensorEngine

/// The training loop: `run()` is a loop over epochs of named steps (`trainEpoch` → `trainStep`…, `finishEpoch`,
/// `finishRun`). Everything that must survive a checkpoint lives in one `TrainingProgress`, updated in place; the
/// loop's fixed helpers in one `LoopTools`.
extension Trainer {
    /// The parts of a run that do not change from step to step (or that only log).
    struct LoopTools {
        let schedule: LRSchedule
        let guardian: StepGuard
        var progress: ProgressReporter
        var logged = StepLog()
        /// CIM-aware training: the chip the training forward runs through (nil: software).
        let aware: CIMConfig?
        /// A fresh chip draw every step (`cim.resample_variation` with variation).
        let resample: Bool
    }

    /// Where one epoch started, for the checkpoint position and the epoch's numbers (not checkpointed itself).
    struct EpochStart {
        let epoch: Int
        /// Steps already done when this process took the epoch up (a resumed epoch), and the samples of the epoch's
        /// order consumed by then.
        let stepInEpoch: Int, samples: Int
        /// Steps the epoch will have in all.
        let steps: Int
        /// The clock at the epoch's start (earlier by the seconds a resumed epoch had already run).
        let clock: Double
        let skipped: Int, jpegWarnings: Int
    }

    /// Trains for `schedule.epochs` epochs (from `start`) and returns the summary. Stops with `TrainingStop` on a
    /// signal (after writing a checkpoint) or a NaN/Inf loss (without one).
    public func run() throws -> Summary {
        var tools = try makeLoopTools()
        try broadcastState()
        let begin = ProcessClock.now()
        var state = start
        for epoch in start.epoch..<config.schedule.epochs {  // finishEpoch moves `state` to the next epoch
            let started = try trainEpoch(epoch, state: &state, tools: &tools)
            try finishEpoch(started, state: &state, tools: tools)
        }
        return try finishRun(state, wallSeconds: ProcessClock.now() - begin)
    }

    func makeLoopTools() throws -> LoopTools {
        let schedule = try OptimizerFactory.schedule(config.schedule, lr: config.optim.lr, stepsPerEpoch: stepsPerEpoch)
        let write: (String) -> Void = communicator.rank == 0 ? { FileHandle.standardError.write(Data($0.utf8)) } : { _ in }
        let progress = ProgressReporter(totalSteps: config.schedule.epochs * stepsPerEpoch, epochs: config.schedule.epochs,
                                        every: config.runtime.log_every_steps, write: write)
        let aware = config.cim.aware_training ? try config.cimConfig(activationBits: config.quant.abits) : nil
        return LoopTools(schedule: schedule, guardian: StepGuard(communicator: communicator), progress: progress,
                         aware: aware, resample: aware.map { config.cim.resample_variation && $0.variation > 0 } ?? false)
    }

    /// Runs the epoch's steps on this rank's shard. A resumed epoch continues after the samples the job had consumed
    /// (re-sharded if the number of ranks changed; augmentation draws depend only on seed, epoch and sample); with
    /// drop_last a partial last batch of the shard is left out.
    func trainEpoch(_ epoch: Int, state: inout TrainingProgress, tools: inout LoopTools) throws -> EpochStart {
        let offset = state.epochSamples ?? 0
        let shard = sampler.indices(epoch: epoch, from: offset)
        let shardSteps = steps(samplesPerRank: shard.count)
        let started = EpochStart(epoch: epoch, stepInEpoch: state.stepInEpoch, samples: offset,
                                 steps: state.stepInEpoch + shardSteps, clock: ProcessClock.now() - state.epochSeconds,
                                 skipped: train.skipped.count, jpegWarnings: train.skipped.jpegWarnings)
        train.start(epoch: epoch, indices: Array(shard.prefix(shardSteps * batchSize)), firstBatch: 0)
        train.resetWaitTime()
        // CIM-aware training: the mapped layers' training forward runs through the crossbar model.
        if let chip = tools.aware { HardwareAwareInference.attach(to: model, config: chip) }
        defer { if tools.aware != nil { HardwareAwareInference.detach(from: model) } }  // a thrown stop detaches too
        while let batch = try train.next() {
            try trainStep(batch, started, state: &state, tools: &tools)
        }
        tools.progress.finishLine()
        return started
    }

    /// One optimiser step on `batch`, the step agreement of all ranks (stop flags, global loss), the logs, and the
    /// checkpoints a signal or `runtime.checkpoint_every_steps` asks for.
    func trainStep(_ batch: BatchLoader.Batch, _ started: EpochStart, state: inout TrainingProgress, tools: inout LoopTools) throws {
        let ts = ProcessClock.now()
        let n = batch.count, epoch = started.epoch
        if tools.resample { HardwareAwareInference.setDraw(UInt64(state.globalStep) + 1, in: model) }
        communicator.phase = "step \(state.globalStep + 1) (epoch \(epoch + 1))"
        let r = try step.run(x: batch.x, labels: batch.labels, lr: Float(tools.schedule.lr(at: state.globalStep)))
        state.lossSum += r.loss * Double(n)
        state.correct += Double(r.correct)
        state.seen += Double(n)
        state.wait += step.sync?.lastWaitSeconds ?? 0
        state.globalStep += 1
        state.stepInEpoch += 1
        state.epochSamples = started.samples + (state.stepInEpoch - started.stepInEpoch) * batchSize * communicator.size
        let t = state.globalStep
        let (decision, globalLoss) = try tools.guardian.check(loss: r.loss, images: n, interrupted: InterruptFlag.isSet)
        if decision == .nonFinite {
            tools.progress.finishLine()
            throw TrainingStop.nonFinite(step: t, epoch: epoch + 1, lastCheckpoint: lastCheckpoint)
        }
        let images = n * communicator.size
        tools.progress.step(t, epoch: epoch + 1, loss: globalLoss, images: images, seconds: ProcessClock.now() - ts)
        try tools.logged.add(t, epoch: epoch + 1, loss: globalLoss, images: images, lr: tools.schedule.lr(at: t - 1),
                             every: config.runtime.log_every_steps, folder: folder)
        state.epochSeconds = ProcessClock.now() - started.clock
        if decision == .interrupted {
            tools.progress.finishLine()
            let path = try saveCheckpoint(state, best: false)
            throw TrainingStop.interrupted(step: t, checkpoint: path ?? "", runFolder: folder?.url.path ?? "")
        }
        let every = config.runtime.checkpoint_every_steps
        if every > 0 && t % every == 0 && state.stepInEpoch < started.steps { try saveCheckpoint(state, best: false) }
    }

    /// The epoch's totals over all ranks, the test pass (and the chip's, when due), metrics.jsonl, the epoch-end
    /// checkpoint (best.safetensors when the test accuracy improved) and the report.
    func finishEpoch(_ started: EpochStart, state: inout TrainingProgress, tools: LoopTools) throws {
        let epochSeconds = ProcessClock.now() - started.clock
        var totals = [state.lossSum, state.correct, state.seen, Double(train.skipped.count - started.skipped),
                      Double(train.skipped.jpegWarnings - started.jpegWarnings)]
        try communicator.allreduce(&totals, .sum, "epoch totals")
        communicator.phase = "evaluation after epoch \(started.epoch + 1)"
        let evaluation = try evaluate()
        let hardware = try cimReport(epoch: started.epoch + 1, softwareAccuracy: evaluation.accuracy)
        let seen = Swift.max(totals[2], 1)
        var m = EpochMetrics(epoch: started.epoch + 1, lr: tools.schedule.lr(at: Swift.max(state.globalStep - 1, 0)),
                             train_loss: totals[0] / seen, train_accuracy: totals[1] / seen,
                             test_loss: evaluation.loss, test_accuracy: evaluation.accuracy,
                             images_per_s: totals[2] / epochSeconds, epoch_s: epochSeconds,
                             comm_wait_share: state.wait / epochSeconds,
                             data_wait_share: train.waitSeconds / epochSeconds, skipped_samples: Int(totals[3]))
        m.hardware_accuracy = hardware?.hardware_accuracy
        logEpoch(m, jpegWarnings: Int(totals[4]))
        try folder?.appendLine("metrics.jsonl", String(decoding: try JSONEncoder.sorted.encode(m), as: UTF8.self))
        let improved = evaluation.accuracy > state.bestTestAccuracy
        state.trainImages += totals[2]
        state.trainSeconds += epochSeconds
        state.beginEpoch(started.epoch + 1)
        state.testAccuracy = evaluation.accuracy
        state.bestTestAccuracy = Swift.max(state.bestTestAccuracy, evaluation.accuracy)
        try saveCheckpoint(state, best: improved)
        try writeReport()
    }

    /// The epoch's line on the log (rank 0), and warnings about skipped or damaged training samples.
    func logEpoch(_ m: EpochMetrics, jpegWarnings: Int) {
        log(String(format: "epoch %d/%d  loss %.4f  train acc %.4f  test acc %.4f  %.0f img/s  %.1f s%@",
                   m.epoch, config.schedule.epochs, m.train_loss, m.train_accuracy, m.test_accuracy,
                   m.images_per_s, m.epoch_s,
                   communicator.size > 1 ? String(format: "  (%d ranks, comm wait %.1f %%)", communicator.size,
                                                  100 * m.comm_wait_share) : ""))
        if m.skipped_samples > 0 {
            log("warning: \(m.skipped_samples) unreadable training sample(s) skipped this epoch (data.bad_samples: skip), e.g. "
                + train.skipped.examples.joined(separator: ", "))
        }
        if jpegWarnings > 0 {
            log("warning: \(jpegWarnings) libjpeg warning(s) this epoch: training JPEGs with recoverable damage "
                + "(e.g. extraneous bytes before a marker) were decoded and used")
        }
    }

    /// summary.json, parameters.f32 and buffers.f32 (`runtime.save_parameters`), the final report.
    func finishRun(_ state: TrainingProgress, wallSeconds: Double) throws -> Summary {
        let summary = Summary(test_accuracy: state.testAccuracy, epochs: config.schedule.epochs,
                              ranks: communicator.size,
                              images_per_s: state.trainImages / Swift.max(state.trainSeconds, 1e-9),
                              wall_s: wallSeconds, model: model.arch,
                              parameters: model.parameterCount, peak_rss_mb: ProcessStats.peakRSSMB)
        try folder?.write("summary.json", try JSONEncoder.sorted.encode(summary))
        if config.runtime.save_parameters {
            let p = UnsafeBufferPointer(start: model.store.values, count: model.store.parameterCount)
            try folder?.write("parameters.f32", Data(buffer: p))
            let b = UnsafeBufferPointer(start: model.store.bufferValues, count: model.store.bufferCount)
            try folder?.write("buffers.f32", Data(buffer: b))
        }
        try writeReport()
        return summary
    }
}

extension TrainingProgress {
    /// Epoch `epoch` from its first step: the epoch's partial sums and position reset, the run's totals kept.
    mutating func beginEpoch(_ epoch: Int) {
        self.epoch = epoch
        stepInEpoch = 0
        epochSamples = nil
        lossSum = 0; correct = 0; seen = 0; wait = 0; epochSeconds = 0
    }
}
