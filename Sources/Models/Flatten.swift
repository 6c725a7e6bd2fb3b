import TensorEngine

/// [N, C, H, W] → [N, C·H·W]. Copies (layers own their outputs), so the input's buffer is never re-labelled.
public final class Flatten: Layer {
    let y = Tensor(shape: [0]), dx = Tensor(shape: [0])
    var inputShape: [Int] = []
    let adapter = PlanarAdapter()

    public init() {}

    public func outputShape(for input: [Int]) -> [Int] { [input.reduce(1, *)] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let x = adapter.input(x)  // features in C·H·W order, as PyTorch flattens
        let n = x.shape[0]
        y.ensure(shape: [n, x.count / Swift.max(n, 1)])
        y.data.update(from: x.data, count: x.count)
        inputShape = x.shape
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        dx.ensure(shape: inputShape)
        dx.data.update(from: dy.data, count: dy.count)
        return adapter.gradient(dx)
    }
}
