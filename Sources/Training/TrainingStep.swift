import Models
import TensorEngine

/// One optimisation step's worth of state: the model, its optimiser, the loss buffers. Shared by the trainer and
/// the step benchmark so both time exactly the same work.
public final class TrainingStep {
    public let model: Model
    public let optimizer: Optimizer
    public let labelSmoothing: Float
    /// [N, classes]
    let dLogits = Tensor(shape: [0])

    public init(model: Model, optimizer: Optimizer, labelSmoothing: Float = 0) {
        self.model = model
        self.optimizer = optimizer
        self.labelSmoothing = labelSmoothing
    }

    /// Forward, loss, backward and update on one batch; returns the batch's loss and correct count.
    @discardableResult
    public func run(x: Tensor, labels: UnsafePointer<Int32>, lr: Float) -> SoftmaxCrossEntropy.Result {
        let n = x.shape[0]
        let logits = model.forward(x, training: true)
        dLogits.ensure(shape: logits.shape)
        let r = SoftmaxCrossEntropy.forward(logits: logits.data, labels: labels, batch: n, classes: model.numClasses,
                                            labelSmoothing: labelSmoothing, dLogits: dLogits.data)
        model.store.zeroGrad()
        model.backward(dLogits)
        optimizer.step(lr: lr)
        return r
    }
}
