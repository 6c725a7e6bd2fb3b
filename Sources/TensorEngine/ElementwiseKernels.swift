/// Elementwise arithmetic used by composite layers (residual sums, gradient fan-in), vectorised.
public enum ElementwiseKernels {
    /// out = a + b.
    public static func add(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                           count: Int) {
        Parallel.pieces(count, multiple: 16) { _, r in
            var i = r.lowerBound
            while i + 16 <= r.upperBound { store(load(a + i) + load(b + i), out + i); i += 16 }
            while i < r.upperBound { out[i] = a[i] + b[i]; i += 1 }
        }
    }

    /// out = a + b where mask > 0, else 0: a sum's gradient through the ReLU whose output is `mask`, in one pass.
    public static func addMasked(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>,
                                 _ b: UnsafePointer<Float>, mask: UnsafePointer<Float>, count: Int) {
        Parallel.pieces(count, multiple: 16) { _, r in
            let zero = Float16x()
            var i = r.lowerBound
            while i + 16 <= r.upperBound {
                store((load(a + i) + load(b + i)).replacing(with: zero, where: load(mask + i) .<= zero), out + i)
                i += 16
            }
            while i < r.upperBound { out[i] = mask[i] > 0 ? a[i] + b[i] : 0; i += 1 }
        }
    }

    /// out += a.
    public static func accumulate(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, count: Int) {
        Parallel.pieces(count, multiple: 16) { _, r in
            var i = r.lowerBound
            while i + 16 <= r.upperBound { store(load(out + i) + load(a + i), out + i); i += 16 }
            while i < r.upperBound { out[i] += a[i]; i += 1 }
        }
    }

    /// x *= s.
    public static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by s: Float) {
        let sv = Float16x(repeating: s)
        var i = 0
        while i + 16 <= count { store(load(x + i) * sv, x + i); i += 16 }
        while i < count { x[i] *= s; i += 1 }
    }

    /// Residual output with ReLU fused: y = max(a + b, 0). Backward uses `reluBackward` on y.
    public static func addRelu(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                               count: Int) {
        Parallel.pieces(count, multiple: 16) { _, r in
            let zero = Float16x()
            var i = r.lowerBound
            while i + 16 <= r.upperBound { let v = load(a + i) + load(b + i); store(v.replacing(with: zero, where: v .< zero), out + i); i += 16 }
            while i < r.upperBound { out[i] = Swift.max(a[i] + b[i], 0); i += 1 }
        }
    }
}
