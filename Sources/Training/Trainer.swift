import CIMSimulator
import Data
import Distributed
import Foundation
import Models
import RunConfiguration
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
        try communicator.broadcast(model.store.values, count: model.store.parameterCount)
        try communicator.broadcast(model.store.bufferValues, count: model.store.bufferCount)
    }

    /// Test accuracy and loss of rank 0's model: each rank evaluates a contiguous slice of the test set with rank
    /// 0's batch-norm statistics, and the counts are summed.
    public func evaluate() throws -> Evaluator.Result {
        try communicator.broadcast(model.store.bufferValues, count: model.store.bufferCount)
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
