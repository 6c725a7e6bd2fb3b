import TensorEngine

/// max(x, 0).
///
/// In-place mode overwrites its input in forward and its incoming gradient in backward (the mask comes from the
/// output: y > 0 exactly where x > 0). Only for an owner that knows nothing else reads those buffers afterwards —
/// a basic block's inner ReLU, whose input is a batch-norm output that the batch norm's backward does not need.
public final class ReLU: Layer {
    public let inPlace: Bool
    let y = Tensor(shape: [0]), dx = Tensor(shape: [0])
    /// The forward output (in place: the input buffer), kept for the mask.
    var output: Tensor?

    public init(inPlace: Bool = false) { self.inPlace = inPlace }

    public func outputShape(for input: [Int]) -> [Int] { input }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let out = inPlace ? x : y
        out.ensure(shape: x.shape)
        ActivationKernels.reluForward(y: out.data, x: x.data, count: x.count)
        output = out
        return out
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let out = output else { preconditionFailure("ReLU.backward without a forward") }
        let g = inPlace ? dy : dx
        g.ensure(shape: out.shape)
        ActivationKernels.reluBackward(dx: g.data, dy: dy.data, x: out.data, count: out.count)
        return g
    }
}

/// clamp(x, lo, hi) (default −1…1, PyTorch's `Hardtanh`).
public final class Hardtanh: Layer {
    public let lo: Float, hi: Float
    let y = Tensor(shape: [0]), dx = Tensor(shape: [0])
    var input: Tensor?

    public init(lo: Float = -1, hi: Float = 1) {
        precondition(lo < hi, "Hardtanh needs lo < hi")
        self.lo = lo; self.hi = hi
    }

    public func outputShape(for input: [Int]) -> [Int] { input }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        y.ensure(shape: x.shape)
        ActivationKernels.hardtanhForward(y: y.data, x: x.data, count: x.count, lo: lo, hi: hi)
        input = x
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("Hardtanh.backward without a forward") }
        dx.ensure(shape: x.shape)
        ActivationKernels.hardtanhBackward(dx: dx.data, dy: dy.data, x: x.data, count: x.count, lo: lo, hi: hi)
        return dx
    }
}
