/// Weight initialisers with PyTorch's default semantics.
public enum Initializers {
    /// PyTorch's default for `Conv2d`/`Linear` weights: `kaiming_uniform_(a=√5)`, i.e. U(−b, b) with b = 1/√fan_in.
    public static func kaimingUniformDefault(_ p: Parameter, rng: inout RNG) {
        let bound = 1 / Float(p.fanIn).squareRoot()
        let v = p.value
        for i in 0..<p.count { v[i] = rng.uniform(-bound, bound) }
    }

    /// PyTorch's default bias init: U(−1/√fan_in, 1/√fan_in), where fan_in is that of the layer's weight.
    public static func biasDefault(_ p: Parameter, fanIn: Int, rng: inout RNG) {
        let bound = fanIn > 0 ? 1 / Float(fanIn).squareRoot() : 0
        let v = p.value
        for i in 0..<p.count { v[i] = rng.uniform(-bound, bound) }
    }

    /// Fills with a constant (batch-norm γ = 1, β = 0, running variance = 1).
    public static func constant(_ p: Parameter, _ value: Float) {
        p.value.update(repeating: value, count: p.count)
    }
}
