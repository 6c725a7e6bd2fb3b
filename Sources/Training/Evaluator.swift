import Data
import Models
import TensorEngine

/// Test-set accuracy and loss in evaluation mode (batch norm uses running statistics).
public struct Evaluator {
    public struct Result: Sendable {
        public var accuracy: Double
        public var loss: Double
        public var count: Int
    }

    /// Evaluates samples `range` (default: all) of the assembler's dataset.
    public static func evaluate(_ model: Model, on assembler: BatchAssembler, batchSize: Int,
                                range: Range<Int>? = nil) -> Result {
        let d = assembler.dataset
        let r = range ?? 0..<d.count
        let x = Tensor(shape: [batchSize] + d.sampleShape)
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: batchSize)
        defer { labels.deallocate() }
        var correct = 0, lossSum = 0.0
        var start = r.lowerBound
        while start < r.upperBound {
            let end = Swift.min(start + batchSize, r.upperBound)
            assembler.fill(start..<end, x: x, labels: labels)
            let logits = model.forward(x, training: false)
            let r = SoftmaxCrossEntropy.forward(logits: logits.data, labels: labels, batch: end - start,
                                                classes: model.numClasses, dLogits: nil)
            correct += r.correct
            lossSum += r.loss * Double(end - start)
            start = end
        }
        return Result(accuracy: Double(correct) / Double(Swift.max(r.count, 1)),
                      loss: lossSum / Double(Swift.max(r.count, 1)), count: r.count)
    }
}
