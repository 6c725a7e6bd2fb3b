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
    let train: BatchAssembler, test: BatchAssembler
    let sampler: DistributedSampler
    let log: (String) -> Void
    let folder: RunFolder?

    /// - Parameters:
    ///   - folder: where metrics go (rank 0); nil for none.
    ///   - communicator: the job's ranks (default: a world of one).
    public init(config: RunConfig, model: Model, train: ImageDataset, test: ImageDataset,
                folder: RunFolder?, communicator: Communicator? = nil, log: @escaping (String) -> Void) throws {
        self.config = config
        self.model = model
        let comm = try communicator ?? Communicator.world()
        self.communicator = comm
        let norm = Normalization.fit(train)
        self.train = BatchAssembler(dataset: train, normalization: norm)
        self.test = BatchAssembler(dataset: test, normalization: norm)
        let optimizer = try OptimizerFactory.make(config.optim, store: model.store)
        let sync = comm.size > 1
            ? GradientSync(store: model.store, communicator: comm,
                           capBytes: Int(config.distributed.bucket_mb * 1_048_576), overlap: config.distributed.overlap)
            : nil
        step = TrainingStep(model: model, optimizer: optimizer, labelSmoothing: Float(config.loss.label_smoothing),
                            sync: sync)
        if comm.size > 1 && config.distributed.sync_bn { Self.synchronizeStatistics(of: model, over: comm) }
        sampler = DistributedSampler(count: train.count, rank: comm.rank, worldSize: comm.size, seed: config.seed,
                                     dropLast: config.data.drop_last)
        self.folder = comm.rank == 0 ? folder : nil
        self.log = comm.rank == 0 ? log : { _ in }
    }

    /// Synchronised batch norm: every batch-norm layer and BWMA activation quantizer sums its batch statistics over
    /// the ranks. A failing collective aborts the job (the layer interface does not throw).
    static func synchronizeStatistics(of model: Model, over comm: Communicator) {
        let reduce: (UnsafeMutablePointer<Double>, Int) -> Void = { p, n in
            do { try comm.allreduce(p, count: n) } catch {
                FileHandle.standardError.write(Data("Error: rank \(comm.rank): \(error)\n".utf8))
                comm.abort(1)
            }
        }
        for layer in model.leaves {
            if let bn = layer as? BatchNorm2d { bn.statisticsReducer = reduce }
            (layer as? QuantizableLayer)?.quantization?.inputQuantizer?.synchronizeStatistics(with: reduce)
        }
    }

    /// Optimiser steps per epoch (the same on every rank).
    public var stepsPerEpoch: Int {
        let n = sampler.perRank, b = config.data.batch_size
        return config.data.drop_last ? n / b : (n + b - 1) / b
    }

    /// Makes every rank start from rank 0's parameters and batch-norm statistics.
    func broadcastState() throws {
        try communicator.broadcast(model.store.values!, count: model.store.parameterCount)
        try communicator.broadcast(model.store.bufferValues!, count: model.store.bufferCount)
    }

    /// Trains for `schedule.epochs` epochs and returns the summary.
    public func run() throws -> Summary {
        let b = config.data.batch_size
        let schedule = try OptimizerFactory.schedule(config.schedule, lr: config.optim.lr, stepsPerEpoch: stepsPerEpoch)
        try broadcastState()
        let x = Tensor(shape: [b] + train.dataset.sampleShape)
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: b)
        defer { labels.deallocate() }
        var t = 0
        var trainImages = 0.0, trainSeconds = 0.0
        let start = ProcessClock.now()
        var testAccuracy = 0.0
        for epoch in 0..<config.schedule.epochs {
            let order = sampler.indices(epoch: epoch)
            var lossSum = 0.0, correct = 0.0, seen = 0.0, wait = 0.0
            let t0 = ProcessClock.now()
            for s in 0..<stepsPerEpoch {
                let lo = s * b, hi = Swift.min(lo + b, order.count)
                train.fill(order[lo..<hi], x: x, labels: labels)
                let r = try step.run(x: x, labels: labels, lr: Float(schedule.lr(at: t)))
                lossSum += r.loss * Double(hi - lo)
                correct += Double(r.correct)
                seen += Double(hi - lo)
                wait += step.sync?.lastWaitSeconds ?? 0
                t += 1
            }
            let epochSeconds = ProcessClock.now() - t0
            var totals = [lossSum, correct, seen]
            try communicator.allreduce(&totals)
            trainImages += totals[2]
            trainSeconds += epochSeconds
            let evaluation = try evaluate()
            testAccuracy = evaluation.accuracy
            let m = EpochMetrics(epoch: epoch + 1, lr: schedule.lr(at: Swift.max(t - 1, 0)),
                                 train_loss: totals[0] / Swift.max(totals[2], 1),
                                 train_accuracy: totals[1] / Swift.max(totals[2], 1),
                                 test_loss: evaluation.loss, test_accuracy: evaluation.accuracy,
                                 images_per_s: totals[2] / epochSeconds, epoch_s: epochSeconds,
                                 comm_wait_share: wait / epochSeconds)
            log(String(format: "epoch %d/%d  loss %.4f  train acc %.4f  test acc %.4f  %.0f img/s  %.1f s%@",
                       m.epoch, config.schedule.epochs, m.train_loss, m.train_accuracy, m.test_accuracy,
                       m.images_per_s, m.epoch_s,
                       communicator.size > 1 ? String(format: "  (%d ranks, comm wait %.1f %%)", communicator.size,
                                                      100 * m.comm_wait_share) : ""))
            try folder?.appendLine("metrics.jsonl", String(decoding: try JSONEncoder.sorted.encode(m), as: UTF8.self))
            try cimReport(epoch: epoch + 1, softwareAccuracy: evaluation.accuracy)
        }
        let summary = Summary(test_accuracy: testAccuracy, epochs: config.schedule.epochs, ranks: communicator.size,
                              images_per_s: trainImages / Swift.max(trainSeconds, 1e-9),
                              wall_s: ProcessClock.now() - start, model: model.arch,
                              parameters: model.parameterCount, peak_rss_mb: ProcessStats.peakRSSMB)
        try folder?.write("summary.json", try JSONEncoder.sorted.encode(summary))
        if config.runtime.save_parameters {
            let p = UnsafeBufferPointer(start: model.store.values!, count: model.store.parameterCount)
            try folder?.write("parameters.f32", Data(buffer: p))
            let b = UnsafeBufferPointer(start: model.store.bufferValues!, count: model.store.bufferCount)
            try folder?.write("buffers.f32", Data(buffer: b))
        }
        return summary
    }

    /// Test accuracy and loss of rank 0's model: each rank evaluates a contiguous slice of the test set with rank
    /// 0's batch-norm statistics, and the counts are summed.
    func evaluate() throws -> Evaluator.Result {
        try communicator.broadcast(model.store.bufferValues!, count: model.store.bufferCount)
        let n = test.dataset.count, r = communicator.rank, w = communicator.size
        let slice = (n * r / w)..<(n * (r + 1) / w)
        let e = Evaluator.evaluate(model, on: test, batchSize: config.data.eval_batch_size, range: slice)
        var totals = [e.accuracy * Double(e.count), e.loss * Double(e.count), Double(e.count)]
        try communicator.allreduce(&totals)
        return Evaluator.Result(accuracy: totals[0] / Swift.max(totals[2], 1), loss: totals[1] / Swift.max(totals[2], 1),
                                count: Int(totals[2]))
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
