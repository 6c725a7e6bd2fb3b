import Data
import Foundation
import Models
import TensorEngine

/// Single-process training loop: shuffled epochs over an in-memory dataset, evaluation after each epoch, metrics
/// into the run folder. (The distributed trainer wraps the same `TrainingStep`.)
public final class Trainer {
    /// One epoch's numbers, as written to metrics.jsonl.
    public struct EpochMetrics: Codable, Sendable {
        public var epoch: Int
        public var lr: Double
        public var train_loss: Double
        public var train_accuracy: Double
        public var test_loss: Double
        public var test_accuracy: Double
        public var images_per_s: Double
        public var epoch_s: Double
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
    let step: TrainingStep
    let train: BatchAssembler, test: BatchAssembler
    let log: (String) -> Void
    let folder: RunFolder?

    /// - Parameter folder: where metrics go; nil for none (tests).
    public init(config: RunConfig, model: Model, train: ImageDataset, test: ImageDataset,
                folder: RunFolder?, log: @escaping (String) -> Void) throws {
        self.config = config
        self.model = model
        let norm = Normalization.fit(train)
        self.train = BatchAssembler(dataset: train, normalization: norm)
        self.test = BatchAssembler(dataset: test, normalization: norm)
        let optimizer = try OptimizerFactory.make(config.optim, store: model.store)
        step = TrainingStep(model: model, optimizer: optimizer, labelSmoothing: Float(config.loss.label_smoothing))
        self.folder = folder
        self.log = log
    }

    public var stepsPerEpoch: Int {
        let n = train.dataset.count, b = config.data.batch_size
        return config.data.drop_last ? n / b : (n + b - 1) / b
    }

    /// Trains for `schedule.epochs` epochs and returns the summary.
    public func run() throws -> Summary {
        let b = config.data.batch_size
        let schedule = try OptimizerFactory.schedule(config.schedule, lr: config.optim.lr, stepsPerEpoch: stepsPerEpoch)
        let x = Tensor(shape: [b] + train.dataset.sampleShape)
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: b)
        defer { labels.deallocate() }
        var t = 0
        var trainImages = 0, trainSeconds = 0.0
        let start = ProcessStats.now()
        var last = Evaluator.Result(accuracy: 0, loss: 0, count: 0)
        for epoch in 0..<config.schedule.epochs {
            var rng = RNG(seed: config.seed, stream: 1000 + UInt64(epoch))
            let order = rng.permutation(train.dataset.count)
            var lossSum = 0.0, correct = 0, seen = 0
            let t0 = ProcessStats.now()
            for s in 0..<stepsPerEpoch {
                let lo = s * b, hi = Swift.min(lo + b, order.count)
                train.fill(order[lo..<hi], x: x, labels: labels)
                let lr = schedule.lr(at: t)
                let r = step.run(x: x, labels: labels, lr: Float(lr))
                lossSum += r.loss * Double(hi - lo)
                correct += r.correct
                seen += hi - lo
                t += 1
            }
            let epochSeconds = ProcessStats.now() - t0
            trainImages += seen
            trainSeconds += epochSeconds
            last = Evaluator.evaluate(model, on: test, batchSize: config.data.eval_batch_size)
            let m = EpochMetrics(epoch: epoch + 1, lr: schedule.lr(at: Swift.max(t - 1, 0)),
                                 train_loss: lossSum / Double(Swift.max(seen, 1)),
                                 train_accuracy: Double(correct) / Double(Swift.max(seen, 1)),
                                 test_loss: last.loss, test_accuracy: last.accuracy,
                                 images_per_s: Double(seen) / epochSeconds, epoch_s: epochSeconds)
            log(String(format: "epoch %d/%d  loss %.4f  train acc %.4f  test acc %.4f  %.0f img/s  %.1f s",
                       m.epoch, config.schedule.epochs, m.train_loss, m.train_accuracy, m.test_accuracy,
                       m.images_per_s, m.epoch_s))
            try folder?.appendLine("metrics.jsonl", String(decoding: try JSONEncoder.sorted.encode(m), as: UTF8.self))
        }
        let summary = Summary(test_accuracy: last.accuracy, epochs: config.schedule.epochs, ranks: 1,
                              images_per_s: Double(trainImages) / Swift.max(trainSeconds, 1e-9),
                              wall_s: ProcessStats.now() - start, model: model.arch,
                              parameters: model.parameterCount, peak_rss_mb: ProcessStats.peakRSSMB)
        try folder?.write("summary.json", try JSONEncoder.sorted.encode(summary))
        return summary
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
