import CConvKernels
import Foundation

/// Elementwise kernels of the activation quantizers (uniform k-bit grids on [0, c]), vectorised. The quantizers
/// in the `Quantization` module compose these with their statistics and learnable parameters.
public enum QuantizationKernels {
    /// y = Δ·round(clamp(x, 0, c)/Δ) with Δ = c/levels (round half to even, as the hardware's ADC-free input DAC
    /// codes are produced by `round`). Exact k-bit levels {0, Δ, …, levels·Δ}.
    public static func quantize(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int, clip c: Float,
                                levels: Int) {
        let delta = c / Float(levels), inv = Float(levels) / c
        Parallel.pieces(count, multiple: 16) { _, r in
            let zero = Float16x(), cv = Float16x(repeating: c), iv = Float16x(repeating: inv)
            let dv = Float16x(repeating: delta)
            var i = r.lowerBound
            while i + 16 <= r.upperBound {
                var v = load(x + i)
                v.replace(with: zero, where: v .< zero)
                v.replace(with: cv, where: v .> cv)
                store(roundHalfEven(v * iv) * dv, y + i)
                i += 16
            }
            while i < r.upperBound {
                let v = Swift.min(Swift.max(x[i], 0), c)
                y[i] = (v * inv).rounded(.toNearestOrEven) * delta
                i += 1
            }
        }
    }

    /// Straight-through backward with clipping: dx = dy·[lo ≤ x ≤ hi].
    public static func passInside(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                  count: Int, lo: Float, hi: Float) {
        Parallel.pieces(count, multiple: 16) { _, r in
            let l = Float16x(repeating: lo), h = Float16x(repeating: hi), zero = Float16x()
            var i = r.lowerBound
            while i + 16 <= r.upperBound {
                let v = load(x + i)
                store(load(dy + i).replacing(with: zero, where: (v .< l) .| (v .> h)), dx + i)
                i += 16
            }
            while i < r.upperBound { dx[i] = (x[i] >= lo && x[i] <= hi) ? dy[i] : 0; i += 1 }
        }
    }

    /// Backward of the soft staircase s(x) = x − (aΔ/2π)·sin(2πx/Δ) on [0, c] (0 outside):
    /// dx = dy·(1 − a·cos(2πx/Δ)) for 0 ≤ x ≤ c. cos is evaluated by reducing to v = x/Δ − round(x/Δ) ∈ [−½, ½] and a
    /// degree-12 Taylor polynomial of cos(2πv) (error < 2e-3 at the period ends, 0 at the levels). `kernel`: on the
    /// AVX-512 kernel (CConvKernels' `bwma_soft_staircase_backward`, where the CPU has it), else on these Swift lanes —
    /// the same operations in the same order, so the same bits (tests compare the two).
    public static func softStaircaseBackward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                             x: UnsafePointer<Float>, count: Int, clip c: Float, levels: Int,
                                             amplitude a: Float, kernel: Bool = hasStaircaseKernel) {
        let inv = Float(levels) / c
        if kernel {
            let s = staircase(clip: c, inverse: inv, amplitude: a)
            Parallel.pieces(count, multiple: 16) { _, r in
                var s = s
                bwma_soft_staircase_backward(dx + r.lowerBound, dy + r.lowerBound, x + r.lowerBound, r.count, &s)
            }
            return
        }
        Parallel.pieces(count, multiple: 16) { _, r in
            let zero = Float16x(), cv = Float16x(repeating: c), iv = Float16x(repeating: inv)
            let av = Float16x(repeating: a), one = Float16x(repeating: 1), twoPi = Float16x(repeating: 2 * .pi)
            @inline(__always) func gradient(_ xv: Float16x, _ dyv: Float16x) -> Float16x {
                let u = xv * iv
                let w = (u - roundHalfEven(u)) * twoPi
                let g = one - av * cosPolynomial(w * w)
                return (dyv * g).replacing(with: zero, where: (xv .< zero) .| (xv .> cv))
            }
            var i = r.lowerBound
            while i + 16 <= r.upperBound {
                store(gradient(load(x + i), load(dy + i)), dx + i)
                i += 16
            }
            // The tail through the same lanes: every element gets the same bits wherever a chunk boundary falls
            // (a scalar libm cos here made the result depend on the thread count).
            while i < r.upperBound {
                dx[i] = gradient(Float16x(repeating: x[i]), Float16x(repeating: dy[i]))[0]
                i += 1
            }
        }
    }

    /// Whether this CPU runs the soft staircase's backward on the AVX-512 kernel.
    public static let hasStaircaseKernel = bwma_soft_staircase_available() != 0

    /// The staircase's backward fused with a residual block's input-gradient sum through the ReLU before the block:
    /// out = (dx + shortcut) where x > 0, else 0, dx = `softStaircaseBackward` of dy at x — one pass on the AVX-512
    /// kernel, else that pass (in place over dy) and `ElementwiseKernels.addMasked`: the same bits either way.
    public static func softStaircaseBackwardAddMasked(out: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>,
                                                      x: UnsafePointer<Float>, shortcut: UnsafePointer<Float>,
                                                      count: Int, clip c: Float, levels: Int, amplitude a: Float,
                                                      kernel: Bool = hasStaircaseKernel) {
        guard kernel else {
            softStaircaseBackward(dx: dy, dy: dy, x: x, count: count, clip: c, levels: levels, amplitude: a,
                                  kernel: false)
            ElementwiseKernels.addMasked(out, dy, shortcut, mask: x, count: count)
            return
        }
        let s = staircase(clip: c, inverse: Float(levels) / c, amplitude: a)
        Parallel.pieces(count, multiple: 16) { _, r in
            var s = s
            let i = r.lowerBound
            bwma_soft_staircase_backward_add_masked(out + i, dy + i, x + i, shortcut + i, r.count, &s)
        }
    }

    /// The C kernels' parameters of the staircase (the polynomial's coefficients and 2π as the Swift lanes use them).
    private static func staircase(clip: Float, inverse: Float, amplitude: Float) -> bwma_staircase {
        var s = bwma_staircase()
        s.clip = clip; s.inverse_step = inverse; s.amplitude = amplitude; s.two_pi = 2 * .pi
        let k = cosine
        s.cosine = (k[0], k[1], k[2], k[3], k[4], k[5], k[6])
        return s
    }

    /// Round half to even for |v| < 2²², by adding and subtracting 1.5·2²³ (the FPU's default rounding does the
    /// work). `rounded(.toNearestOrEven)` on SIMD vectors compiles to one libm call per lane on baseline x86-64
    /// (7 % of a quantized training step); this is two vector adds. Larger |v| only occur where callers mask the
    /// result (inputs above the clip).
    @inline(__always) static func roundHalfEven(_ v: Float16x) -> Float16x {
        let magic = Float16x(repeating: 12_582_912)  // 1.5 · 2^23
        return (v + magic) - magic
    }

    /// The Taylor coefficients of cos(w) in w², highest power first: w¹²/12!, −w¹⁰/10!, …, 1.
    static let cosine: [Float] = [1 / 479_001_600, -1 / 3_628_800, 1 / 40320, -1 / 720, 1 / 24, -0.5, 1]

    /// cos(w) for |w| ≤ π from w²: Taylor series to w¹² (`cosine`, Horner's rule).
    @inline(__always) static func cosPolynomial(_ w2: Float16x) -> Float16x {
        var p = Float16x(repeating: cosine[0])
        for k in 1..<7 { p = p * w2 + Float16x(repeating: cosine[k]) }
        return p
    }

    /// Σ x² (Float partials of 4096 elements, Double across them in order: the same bits on any thread count).
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        let block = 4096, blocks = (count + block - 1) / block
        var partials = [Float](repeating: 0, count: blocks)
        partials.withUnsafeMutableBufferPointer { partials in
            let partials = partials.baseAddress!
            Parallel.pieces(blocks) { _, range in
                for b in range {
                    let p = x + b * block, n = Swift.min(block, count - b * block)
                    var acc = Float16x(), j = 0
                    while j + 16 <= n { let v = load(p + j); acc += v * v; j += 16 }
                    var s = acc.sum()
                    while j < n { s += p[j] * p[j]; j += 1 }
                    partials[b] = s
                }
            }
        }
        return partials.reduce(0.0) { $0 + Double($1) }
    }
}
