/// Pointwise non-linearities, vectorised and branch-free. Backward kernels take the forward *input* (or, for ReLU,
/// the output: y > 0 exactly where x > 0) and write dx (overwrite).
public enum ActivationKernels {
    /// y = max(x, 0).
    public static func reluForward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int) {
        Parallel.pieces(count, multiple: 16) { _, r in
            let zero = Float16x()
            var i = r.lowerBound
            while i + 16 <= r.upperBound { let v = load(x + i); store(v.replacing(with: zero, where: v .< zero), y + i); i += 16 }
            while i < r.upperBound { y[i] = Swift.max(x[i], 0); i += 1 }
        }
    }

    /// dx = dy · [x > 0].
    public static func reluBackward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                    count: Int) {
        Parallel.pieces(count, multiple: 16) { _, r in
            let zero = Float16x()
            var i = r.lowerBound
            while i + 16 <= r.upperBound {
                store(load(dy + i).replacing(with: zero, where: load(x + i) .<= zero), dx + i)
                i += 16
            }
            while i < r.upperBound { dx[i] = x[i] > 0 ? dy[i] : 0; i += 1 }
        }
    }

    /// y = clamp(x, lo, hi).
    public static func hardtanhForward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int,
                                       lo: Float = -1, hi: Float = 1) {
        Parallel.pieces(count, multiple: 16) { _, r in
            let l = Float16x(repeating: lo), h = Float16x(repeating: hi)
            var i = r.lowerBound
            while i + 16 <= r.upperBound { var v = load(x + i)
                v.replace(with: l, where: v .< l)
                v.replace(with: h, where: v .> h)
                store(v, y + i); i += 16 }
            while i < r.upperBound { y[i] = Swift.min(Swift.max(x[i], lo), hi); i += 1 }
        }
    }

    /// dx = dy · [lo < x < hi] (PyTorch passes the gradient strictly inside the interval).
    public static func hardtanhBackward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                        x: UnsafePointer<Float>, count: Int, lo: Float = -1, hi: Float = 1) {
        Parallel.pieces(count, multiple: 16) { _, r in
            let l = Float16x(repeating: lo), h = Float16x(repeating: hi), zero = Float16x()
            var i = r.lowerBound
            while i + 16 <= r.upperBound {
                let xv = load(x + i)
                store(load(dy + i).replacing(with: zero, where: (xv .<= l) .| (xv .>= h)), dx + i)
                i += 16
            }
            while i < r.upperBound { dx[i] = (x[i] > lo && x[i] < hi) ? dy[i] : 0; i += 1 }
        }
    }
}
