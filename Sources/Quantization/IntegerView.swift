/// The integer view of one binarized layer's forward pass: what a compute-in-memory array — and the engine's exact
/// integer kernels — compute with. With input codes j ∈ {0 … 2ᵏ − 1} (the quantized input is Δ·j) and binary
/// weights Wq = α_c·B + β_c per output channel c, B ∈ {−1, +1}:
///
///     Wq ⊛ xq = Δ·(α_c·(B ⊛ j) + β_c·(1 ⊛ j))
///
/// where B ⊛ j is an exact integer sum (|B ⊛ j| ≤ K·(2ᵏ − 1) for K inputs per output) and 1 ⊛ j sums the codes under
/// each window. The pointers are valid until the layer's next forward.
public struct IntegerView {
    /// [Cout, K] B ∈ {−1, +1}, in the layer's weight order (K = Cin·kh·kw, or the input features).
    public let signs: UnsafePointer<Int8>
    /// The input codes, channels-last: [N, H, W, Cin] for a convolution, [N, in] for a linear layer.
    public let codes: UnsafePointer<UInt8>
    /// Activation bits k.
    public let bits: Int
    /// Δ, the value of one input code.
    public let step: Float
    /// [Cout] α and β of each output channel (a per-layer binarization repeats one pair).
    public let alpha: [Float], beta: [Float]

    public init(signs: UnsafePointer<Int8>, codes: UnsafePointer<UInt8>, bits: Int, step: Float, alpha: [Float],
                beta: [Float]) {
        self.signs = signs; self.codes = codes; self.bits = bits; self.step = step; self.alpha = alpha; self.beta = beta
    }
}
