import Distributed
import Models
import Optim
import TensorEngine

/// One optimisation step's worth of state: the model, its optimiser, the loss buffers. Shared by the trainer and
/// the step benchmark so both time exactly the same work.
public final class TrainingStep {
    public let model: Model
    public let optimizer: Optimizer
    public let labelSmoothing: Float
    /// Averages gradients across ranks (nil: a single process).
    public let sync: GradientSync?
    /// [N, classes]
    let dLogits = Tensor(shape: [0])

    public init(model: Model, optimizer: Optimizer, labelSmoothing: Float = 0, sync: GradientSync? = nil) {
        self.model = model
        self.optimizer = optimizer
        self.labelSmoothing = labelSmoothing
        self.sync = sync
    }

    /// Forward, loss, backward (with the gradient allreduce overlapping it, under MPI) and update on one batch;
    /// returns this rank's batch loss and correct count.
    @discardableResult
    public func run(x: Tensor, labels: UnsafePointer<Int32>, lr: Float) throws -> SoftmaxCrossEntropy.Result {
        let n = x.shape[0]
        let logits = model.forward(x, training: true)
        dLogits.ensure(shape: logits.shape)
        let r = SoftmaxCrossEntropy.forward(logits: logits.data, labels: labels, batch: n, classes: model.numClasses,
                                            labelSmoothing: labelSmoothing, dLogits: dLogits.data)
        model.store.zeroGrad()
        if let sync {
            // Every gradient is linear in dL/dlogits: scaling it by 1/R makes the allreduced sum the average.
            ElementwiseKernels.scale(dLogits.data, count: dLogits.count, by: 1 / Float(sync.communicator.size))
            sync.beginStep()
            try model.backward(dLogits) { try sync.ready(downTo: $0) }
            try sync.finish()
        } else {
            model.backward(dLogits)
        }
        optimizer.step(lr: lr)
        return r
    }
}
