/// A named view into a `ParameterStore` arena: a trainable tensor (value + gradient) or a buffer (value only,
/// e.g. batch-norm running statistics).
///
/// Views are created while a model is built; the arena is allocated once by `ParameterStore.finalize()`, after which
/// `value` and `grad` point into it. Parameters of one model are therefore one contiguous block, gradients another:
/// an optimiser step is one loop, a checkpoint one write, a gradient bucket an offset range.
///
/// Sendable (unchecked): immutable (name, shape, offset); the values it points to follow `ParameterStore`'s rule.
public final class Parameter: @unchecked Sendable {
    /// Dotted name, e.g. `layer2.0.conv1.weight`.
    public let name: String
    /// Logical shape, e.g. `[Cout, Cin, kh, kw]`.
    public let shape: [Int]
    /// Element count.
    public let count: Int
    /// Offset into the arena's value (and gradient) block.
    public let offset: Int
    /// Trainable parameters have gradients and are updated by the optimiser; buffers are not.
    public let trainable: Bool
    /// Fan-in and fan-out used by initialisers (set by the layer that owns the weight).
    public let fanIn: Int

    unowned let store: ParameterStore

    init(name: String, shape: [Int], offset: Int, trainable: Bool, fanIn: Int, store: ParameterStore) {
        self.name = name
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.offset = offset
        self.trainable = trainable
        self.fanIn = fanIn
        self.store = store
    }

    /// The values (valid after `finalize()`).
    public var value: UnsafeMutablePointer<Float> { store.valuePointer(self) }
    /// The gradient accumulator (trainable parameters only; valid after `finalize()`).
    public var grad: UnsafeMutablePointer<Float> { store.gradPointer(self) }

    /// Copies of the values, for tests and reports.
    public var values: [Float] { Array(UnsafeBufferPointer(start: value, count: count)) }
    /// Copies of the gradients.
    public var grads: [Float] { Array(UnsafeBufferPointer(start: grad, count: count)) }
}
