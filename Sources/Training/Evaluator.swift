import Data
import Distributed
import Models
import TensorEngine

/// Test accuracy and loss in evaluation mode (batch norm uses running statistics).
public struct Evaluator {
    public struct Result: Sendable {
        public var accuracy: Double
        public var loss: Double
        public var count: Int
    }

    /// Evaluates samples `range` (default: all) of the loader's source, in order. `observe` sees each batch's
    /// logits [count, classes] and labels.
    public static func evaluate(_ model: Model, loader: BatchLoader, range: Range<Int>? = nil,
                                observe: ((_ logits: UnsafePointer<Float>, _ labels: UnsafePointer<Int32>, _ count: Int)
                                          -> Void)? = nil) throws -> Result {
        let r = range ?? 0..<loader.source.count
        loader.start(epoch: 0, indices: Array(r))
        var correct = 0, lossSum = 0.0, seen = 0
        while let batch = try loader.next() {
            let logits = model.forward(batch.x, training: false)
            observe?(logits.data, batch.labels, batch.count)
            let e = SoftmaxCrossEntropy.forward(logits: logits.data, labels: batch.labels, batch: batch.count,
                                                classes: model.numClasses, dLogits: nil)
            correct += e.correct
            lossSum += e.loss * Double(batch.count)
            seen += batch.count
        }
        return Result(accuracy: Double(correct) / Double(Swift.max(seen, 1)),
                      loss: lossSum / Double(Swift.max(seen, 1)), count: seen)
    }

    /// The whole test set over the ranks of `comm`: each evaluates a contiguous slice, the sums are allreduced.
    public static func evaluate(_ model: Model, loader: BatchLoader, over comm: Communicator) throws -> Result {
        let n = loader.source.count, r = comm.rank, w = comm.size
        let e = try evaluate(model, loader: loader, range: (n * r / w)..<(n * (r + 1) / w))
        var totals = [e.accuracy * Double(e.count), e.loss * Double(e.count), Double(e.count)]
        try comm.allreduce(&totals)
        guard totals[2] > 0 else { throw empty(loader) }
        return Result(accuracy: totals[0] / Swift.max(totals[2], 1), loss: totals[1] / Swift.max(totals[2], 1),
                      count: Int(totals[2]))
    }

    /// Nothing was evaluated (an empty test split, or every sample skipped as unreadable): an accuracy of 0 would
    /// be a lie.
    public static func empty(_ loader: BatchLoader) -> DataError {
        DataError.inconsistent(path: loader.source.name, reason: "no test sample could be evaluated (the test split is "
            + "empty or every sample was skipped as unreadable)")
    }
}
