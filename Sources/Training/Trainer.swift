import CIMSimulator
import Data
import Distributed
import Foundation
import Models
import TensorEngine

/// The data-parallel training loop. Every rank runs it on its shard (`DistributedSampler`); gradients are averaged
/// by `GradientSync` inside each step, so every rank applies the same update to the same FP32 latent weights. A
/// process started without mpirun is a world of one. Rank 0 logs and writes the run folder.
public final class Trainer {
    /// One epoch's numbers, as written to metrics.jsonl (reduced over all ranks).
    public struct EpochMetrics: Codable, Sendable {
        public var epoch: Int
        public var lr: Double
        public var train_loss: Double
        public var train_accuracy: Double
        public var test_loss: Double
        public var test_accuracy: Double
        /// Training images per second, all ranks together.
        public var images_per_s: Double
        public var epoch_s: Double
        /// Share of the training loop's time rank 0 spent waiting for the gradient allreduce.
        public var comm_wait_share: Double
        /// Share of the training loop's time rank 0 spent waiting for the data loader.
        public var data_wait_share: Double
        /// Training samples left out as unreadable this epoch (all ranks; `data.bad_samples: skip`).
        public var skipped_samples: Int
        /// Test accuracy through the simulated CIM chip, when this epoch ran the hardware validation
        /// (`cim.every_epochs`, and after the last epoch with `cim.report: end`).
        public var hardware_accuracy: Double? = nil
        /// "epoch" (metrics.jsonl also holds "step" lines, `StepMetrics`).
        public var kind = "epoch"
    }

    /// The end-of-run summary (summary.json).
    public struct Summary: Codable, Sendable {
        public var test_accuracy: Double
        public var epochs: Int
        public var ranks: Int
        public var images_per_s: Double
        public var wall_s: Double
        public var model: String
        public var parameters: Int
        public var peak_rss_mb: Double
    }

    public let config: RunConfig
    public let model: Model
    public let communicator: Communicator
    let step: TrainingStep
    let train: BatchLoader, test: BatchLoader
    let sampler: DistributedSampler
    /// Samples per rank per step: `data.batch_size`, or another after a resume on a different number of ranks
    /// (`Checkpoint.resumeLayout`).
    public let batchSize: Int
    let log: (String) -> Void
    let folder: RunFolder?
    /// Where `run()` starts (a fresh run: the beginning; set by `resume(from:)`).
    public internal(set) var start = TrainingProgress()
    /// The last checkpoint written (rank 0), for messages.
    var lastCheckpoint: String?
    /// The last CIM report (every rank computes it; rank 0 writes it).
    public internal(set) var lastCIMReport: CIMRunReport?

    /// - Parameters:
    ///   - train, test: the splits; both are normalised with the training split's statistics.
    ///   - folder: where metrics go (rank 0); nil for none.
    ///   - communicator: the job's ranks (default: a world of one).
    ///   - batchSize: samples per rank per step (default `data.batch_size`).
    public init(config: RunConfig, model: Model, train: LoadedSplit, test: LoadedSplit,
                folder: RunFolder?, communicator: Communicator? = nil, batchSize: Int? = nil,
                log: @escaping (String) -> Void) throws {
        self.config = config
        self.batchSize = batchSize ?? config.data.batch_size
        self.model = model
        let comm = try communicator ?? Communicator.world()
        comm.timeout = config.distributed.timeout_s
        self.communicator = comm
        let d = config.data, skip = d.bad_samples == "skip"
        self.train = try BatchLoader(source: train.source, augmentation: config.augmentation(.train),
                                     normalization: train.normalization, batchSize: self.batchSize, workers: d.workers,
                                     depth: d.prefetch, seed: config.seed, skipBadSamples: skip)
        self.test = try DataLoading.testLoader(config, test: test, normalization: train.normalization)
        let optimizer = try OptimizerFactory.make(config.optim, store: model.store)
        let sync = comm.size > 1
            ? GradientSync(store: model.store, communicator: comm,
                           capBytes: Int(config.distributed.bucket_mb * 1_048_576),
                           firstCapBytes: Int(config.distributed.first_bucket_mb * 1_048_576),
                           overlap: config.distributed.overlap)
            : nil
        step = TrainingStep(model: model, optimizer: optimizer, labelSmoothing: Float(config.loss.label_smoothing),
                            sync: sync)
        if comm.size > 1 && config.distributed.sync_bn {
            Self.synchronizeStatistics(of: model, over: comm) { error in
                FileHandle.standardError.write(Data("Error: rank \(comm.rank): \(error)\n".utf8))
                comm.abort(1)
            }
        }
        sampler = DistributedSampler(count: train.source.count, rank: comm.rank, worldSize: comm.size, seed: config.seed,
                                     dropLast: config.data.drop_last)
        self.folder = comm.rank == 0 ? folder : nil
        self.log = comm.rank == 0 ? log : { _ in }
        guard stepsPerEpoch > 0 else {
            throw ConfigError.invalid(key: "data.batch_size", value: "\(self.batchSize)",
                                      expected: "at most the \(sampler.perRank) training sample(s) per rank when "
                                        + "data.drop_last is true (otherwise no training step runs)")
        }
        let (total, overflow) = config.schedule.epochs.multipliedReportingOverflow(by: stepsPerEpoch)
        guard !overflow, total <= Self.maxTotalSteps else {
            throw ConfigError.invalid(key: "schedule.epochs", value: "\(config.schedule.epochs)",
                                      expected: "at most \(Self.maxTotalSteps / stepsPerEpoch) with \(stepsPerEpoch) "
                                        + "steps per epoch (a run is limited to \(Self.maxTotalSteps) steps)")
        }
    }

    /// Most optimiser steps in one run (epochs x steps per epoch).
    public static let maxTotalSteps = 1 << 40

    /// Synchronised batch norm: every batch-norm layer and BWMA activation quantizer sums its batch statistics over
    /// the ranks. The layer interface does not throw, so a failing collective goes to `onFailure` (the trainer's
    /// ends the job: `Communicator.abort`).
    public static func synchronizeStatistics(of model: Model, over comm: Collectives,
                                             onFailure: @escaping (Error) -> Void) {
        let reduce: (UnsafeMutablePointer<Double>, Int) -> Void = { p, n in
            do { try comm.allreduce(p, count: n, .sum, "synchronised batch-norm / activation-range statistics") } catch {
                onFailure(error)
            }
        }
        model.synchronizeStatistics(with: reduce)
    }

    /// Optimiser steps per epoch (the same on every rank).
    public var stepsPerEpoch: Int {
        steps(samplesPerRank: sampler.perRank)
    }

    /// Steps that cover `n` samples per rank (a partial last batch is dropped with `data.drop_last`).
    func steps(samplesPerRank n: Int) -> Int {
        config.data.drop_last ? n / batchSize : (n + batchSize - 1) / batchSize
    }

    /// Makes every rank start from rank 0's parameters and batch-norm statistics.
    func broadcastState() throws {
        try communicator.broadcast(model.store.values!, count: model.store.parameterCount)
        try communicator.broadcast(model.store.bufferValues!, count: model.store.bufferCount)
    }

    /// Trains for `schedule.epochs` epochs (from `start`) and returns the summary. Stops with `TrainingStop` on a
    /// signal (after writing a checkpoint) or a NaN/Inf loss (without one).
    public func run() throws -> Summary {
        let schedule = try OptimizerFactory.schedule(config.schedule, lr: config.optim.lr, stepsPerEpoch: stepsPerEpoch)
        try broadcastState()
        var t = start.globalStep
        var trainImages = start.trainImages, trainSeconds = start.trainSeconds
        let begin = ProcessClock.now()
        var testAccuracy = start.testAccuracy, best = start.bestTestAccuracy
        let guardian = StepGuard(communicator: communicator)
        var progress = ProgressReporter(totalSteps: config.schedule.epochs * stepsPerEpoch, epochs: config.schedule.epochs,
                                        every: config.runtime.log_every_steps,
                                        write: communicator.rank == 0 ? { FileHandle.standardError.write(Data($0.utf8)) } : { _ in })
        var logged = StepLog()
        // CIM-aware training: the binarized layers' training forward runs through the crossbar model.
        let aware = config.cim.aware_training ? try config.cimConfig(activationBits: config.quant.abits) : nil
        let resample = aware.map { config.cim.resample_variation && ($0.variation > 0) } ?? false
        for epoch in start.epoch..<config.schedule.epochs {
            let resumed = epoch == start.epoch ? start : TrainingProgress()
            var lossSum = resumed.lossSum, correct = resumed.correct, seen = resumed.seen, wait = resumed.wait
            let skippedBefore = train.skipped.count, warningsBefore = train.skipped.jpegWarnings
            let t0 = ProcessClock.now() - resumed.epochSeconds
            // A resumed epoch continues after the samples the job had consumed (re-sharded if the number of ranks
            // changed; augmentation draws depend only on seed, epoch and sample). With drop_last the shard can still
            // end in a partial batch: leave it out.
            let offset = resumed.epochSamples ?? 0
            let shard = sampler.indices(epoch: epoch, from: offset)
            let shardSteps = steps(samplesPerRank: shard.count)
            let epochSteps = resumed.stepInEpoch + shardSteps
            train.start(epoch: epoch, indices: Array(shard.prefix(shardSteps * batchSize)), firstBatch: 0)
            train.resetWaitTime()
            if let hw = aware { HardwareAwareInference.attach(to: model, config: hw) }
            var attached = aware != nil
            defer { if attached { HardwareAwareInference.detach(from: model) } }  // a thrown stop detaches too
            var s = resumed.stepInEpoch
            while let batch = try train.next() {
                let ts = ProcessClock.now()
                let n = batch.count
                if resample { HardwareAwareInference.setDraw(UInt64(t) + 1, in: model) }
                communicator.phase = "step \(t + 1) (epoch \(epoch + 1))"
                let r = try step.run(x: batch.x, labels: batch.labels, lr: Float(schedule.lr(at: t)))
                lossSum += r.loss * Double(n)
                correct += Double(r.correct)
                seen += Double(n)
                wait += step.sync?.lastWaitSeconds ?? 0
                t += 1
                let (decision, globalLoss) = try guardian.check(loss: r.loss, images: n,
                                                                interrupted: InterruptFlag.isSet)
                if decision == .nonFinite {
                    progress.finishLine()
                    throw TrainingStop.nonFinite(step: t, epoch: epoch + 1, lastCheckpoint: lastCheckpoint)
                }
                let images = n * communicator.size
                progress.step(t, epoch: epoch + 1, loss: globalLoss, images: images, seconds: ProcessClock.now() - ts)
                try logged.add(t, epoch: epoch + 1, loss: globalLoss, images: images, lr: schedule.lr(at: t - 1),
                               every: config.runtime.log_every_steps, folder: folder)
                let here = { () -> TrainingProgress in
                    var p = TrainingProgress()
                    p.epoch = epoch; p.stepInEpoch = s + 1; p.globalStep = t
                    p.epochSamples = offset + (s + 1 - resumed.stepInEpoch) * self.batchSize * self.communicator.size
                    p.lossSum = lossSum; p.correct = correct; p.seen = seen; p.wait = wait
                    p.epochSeconds = ProcessClock.now() - t0
                    p.trainImages = trainImages; p.trainSeconds = trainSeconds
                    p.testAccuracy = testAccuracy; p.bestTestAccuracy = best
                    return p
                }
                if decision == .interrupted {
                    progress.finishLine()
                    let path = try saveCheckpoint(here(), best: false)
                    throw TrainingStop.interrupted(step: t, checkpoint: path ?? "", runFolder: folder?.url.path ?? "")
                }
                let every = config.runtime.checkpoint_every_steps
                if every > 0 && t % every == 0 && s + 1 < epochSteps { _ = try saveCheckpoint(here(), best: false) }
                s += 1
            }
            progress.finishLine()
            if attached { HardwareAwareInference.detach(from: model); attached = false }
            let epochSeconds = ProcessClock.now() - t0
            var totals = [lossSum, correct, seen, Double(train.skipped.count - skippedBefore),
                          Double(train.skipped.jpegWarnings - warningsBefore)]
            try communicator.allreduce(&totals, .sum, "epoch totals")
            trainImages += totals[2]
            trainSeconds += epochSeconds
            communicator.phase = "evaluation after epoch \(epoch + 1)"
            let evaluation = try evaluate()
            testAccuracy = evaluation.accuracy
            let hardware = try cimReport(epoch: epoch + 1, softwareAccuracy: evaluation.accuracy)
            var m = EpochMetrics(epoch: epoch + 1, lr: schedule.lr(at: Swift.max(t - 1, 0)),
                                 train_loss: totals[0] / Swift.max(totals[2], 1),
                                 train_accuracy: totals[1] / Swift.max(totals[2], 1),
                                 test_loss: evaluation.loss, test_accuracy: evaluation.accuracy,
                                 images_per_s: totals[2] / epochSeconds, epoch_s: epochSeconds,
                                 comm_wait_share: wait / epochSeconds,
                                 data_wait_share: train.waitSeconds / epochSeconds, skipped_samples: Int(totals[3]))
            m.hardware_accuracy = hardware?.hardware_accuracy
            log(String(format: "epoch %d/%d  loss %.4f  train acc %.4f  test acc %.4f  %.0f img/s  %.1f s%@",
                       m.epoch, config.schedule.epochs, m.train_loss, m.train_accuracy, m.test_accuracy,
                       m.images_per_s, m.epoch_s,
                       communicator.size > 1 ? String(format: "  (%d ranks, comm wait %.1f %%)", communicator.size,
                                                      100 * m.comm_wait_share) : ""))
            if m.skipped_samples > 0 {
                log("warning: \(m.skipped_samples) unreadable training sample(s) skipped this epoch (data.bad_samples: skip), e.g. "
                    + train.skipped.examples.joined(separator: ", "))
            }
            if totals[4] > 0 {
                log("warning: \(Int(totals[4])) libjpeg warning(s) this epoch: training JPEGs with recoverable damage "
                    + "(e.g. extraneous bytes before a marker) were decoded and used")
            }
            try folder?.appendLine("metrics.jsonl", String(decoding: try JSONEncoder.sorted.encode(m), as: UTF8.self))
            var done = TrainingProgress()
            done.epoch = epoch + 1; done.globalStep = t
            done.trainImages = trainImages; done.trainSeconds = trainSeconds
            done.testAccuracy = testAccuracy; done.bestTestAccuracy = Swift.max(best, testAccuracy)
            _ = try saveCheckpoint(done, best: testAccuracy > best)
            best = Swift.max(best, testAccuracy)
            try writeReport()
        }
        let summary = Summary(test_accuracy: testAccuracy, epochs: config.schedule.epochs, ranks: communicator.size,
                              images_per_s: trainImages / Swift.max(trainSeconds, 1e-9),
                              wall_s: ProcessClock.now() - begin, model: model.arch,
                              parameters: model.parameterCount, peak_rss_mb: ProcessStats.peakRSSMB)
        try folder?.write("summary.json", try JSONEncoder.sorted.encode(summary))
        if config.runtime.save_parameters {
            let p = UnsafeBufferPointer(start: model.store.values!, count: model.store.parameterCount)
            try folder?.write("parameters.f32", Data(buffer: p))
            let b = UnsafeBufferPointer(start: model.store.bufferValues!, count: model.store.bufferCount)
            try folder?.write("buffers.f32", Data(buffer: b))
        }
        try writeReport()
        return summary
    }

    /// Test accuracy and loss of rank 0's model: each rank evaluates a contiguous slice of the test set with rank
    /// 0's batch-norm statistics, and the counts are summed.
    func evaluate() throws -> Evaluator.Result {
        try communicator.broadcast(model.store.bufferValues!, count: model.store.bufferCount)
        return try Evaluator.evaluate(model, loader: test, over: communicator)
    }
}

extension JSONEncoder {
    /// Sorted keys, compact: one object per line in metrics.jsonl.
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}
