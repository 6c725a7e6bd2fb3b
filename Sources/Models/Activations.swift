import TensorEngine

/// max(x, 0). (After a batch norm, prefer `BatchNorm2d(fusedReLU: true)`: one pass instead of two.)
public final class ReLU: Layer {
    let y = Tensor(shape: [0]), dx = Tensor(shape: [0])

    public init() {}

    public func outputShape(for input: [Int]) -> [Int] { input }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        y.ensure(shape: x.shape)
        y.layout = x.layout
        ActivationKernels.reluForward(y: y.data, x: x.data, count: x.count)
        return y
    }

    /// The mask comes from the output: y > 0 exactly where x > 0.
    public func backward(_ dy: Tensor) -> Tensor {
        dx.ensure(shape: y.shape)
        dx.layout = y.layout
        ActivationKernels.reluBackward(dx: dx.data, dy: dy.data, x: y.data, count: y.count)
        return dx
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
        y.layout = x.layout
        ActivationKernels.hardtanhForward(y: y.data, x: x.data, count: x.count, lo: lo, hi: hi)
        input = x
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("Hardtanh.backward without a forward") }
        dx.ensure(shape: x.shape)
        dx.layout = x.layout
        ActivationKernels.hardtanhBackward(dx: dx.data, dy: dy.data, x: x.data, count: x.count, lo: lo, hi: hi)
        return dx
    }
}
