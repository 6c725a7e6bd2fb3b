import Data
import Models
import TensorEngine

/// Test accuracy and loss in evaluation mode (batch norm uses running statistics).
public struct Evaluator {
    public struct Result: Sendable {
        public var accuracy: Double
        public var loss: Double
        public var count: Int
    }

    /// Evaluates samples `range` (default: all) of the loader's source, in order.
    public static func evaluate(_ model: Model, loader: BatchLoader, range: Range<Int>? = nil) throws -> Result {
        let r = range ?? 0..<loader.source.count
        loader.start(epoch: 0, indices: Array(r))
        var correct = 0, lossSum = 0.0, seen = 0
        while let batch = try loader.next() {
            let logits = model.forward(batch.x, training: false)
            let e = SoftmaxCrossEntropy.forward(logits: logits.data, labels: batch.labels, batch: batch.count,
                                                classes: model.numClasses, dLogits: nil)
            correct += e.correct
            lossSum += e.loss * Double(batch.count)
            seen += batch.count
        }
        return Result(accuracy: Double(correct) / Double(Swift.max(seen, 1)),
                      loss: lossSum / Double(Swift.max(seen, 1)), count: seen)
    }
}
