import Foundation

/// Softmax cross-entropy with optional label smoothing, averaged over the batch (PyTorch's `CrossEntropyLoss` with
/// `label_smoothing=ε`: target = (1 − ε)·onehot + ε/C).
public enum SoftmaxCrossEntropy {
    /// Result of one evaluation.
    public struct Result: Sendable {
        /// Mean loss over the batch.
        public var loss: Double
        /// Number of rows whose arg-max equals the label.
        public var correct: Int
    }

    /// Computes the loss and writes dlogits = (softmax − target)/N (when `dLogits` is non-nil).
    /// Shapes: logits, dLogits [N, C]; labels [N] with values in 0..<C.
    public static func forward(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, classes: Int,
                               labelSmoothing: Float = 0, dLogits: UnsafeMutablePointer<Float>?) -> Result {
        var total = 0.0
        var correct = 0
        let eps = Double(labelSmoothing), invN = 1 / Float(batch)
        for n in 0..<batch {
            let row = logits + n * classes
            let label = Int(labels[n])
            precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
            var mx = row[0], arg = 0
            for c in 1..<Swift.max(classes, 1) where row[c] > mx { mx = row[c]; arg = c }
            if arg == label { correct += 1 }
            var sum = 0.0
            for c in 0..<classes { sum += exp(Double(row[c] - mx)) }
            let logSum = log(sum) + Double(mx)
            // −log p_label and the mean of −log p_c over classes.
            let nll = logSum - Double(row[label])
            var meanNll = 0.0
            if eps > 0 {
                for c in 0..<classes { meanNll += logSum - Double(row[c]) }
                meanNll /= Double(classes)
            }
            total += (1 - eps) * nll + eps * meanNll
            if let dLogits {
                let d = dLogits + n * classes
                let smooth = Float(eps) / Float(classes)
                for c in 0..<classes {
                    let p = Float(exp(Double(row[c]) - logSum))
                    let target = (c == label ? Float(1 - eps) : 0) + smooth
                    d[c] = (p - target) * invN
                }
            }
        }
        return Result(loss: total / Double(batch), correct: correct)
    }
}
