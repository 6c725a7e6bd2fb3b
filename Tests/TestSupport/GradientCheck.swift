import TensorEngine
import XCTest

/// Central finite differences for kernels written as closures.
///
/// The loss is L = Σᵢ yᵢ·rᵢ with fixed random weights r, accumulated in Double; the analytic gradient is the kernel's
/// backward applied to dy = r. For layers linear in the perturbed input (conv, linear, pooling, add) central
/// differences are exact up to Float32 rounding of y, so the tolerance only has to cover ε-scaled rounding:
/// |ΔL| error ≲ ulp(|y|)·Σ|r| / ε ≈ 1e-7·n/ε. With ε = 1e-2 and n ≤ 1e4 that is ≤ 1e-3 absolute on gradients of
/// order 1, hence the tolerance 2e-3 + 2e-3·|g| used below. Non-linear layers use ε = 1e-3 on inputs kept away from
/// their kinks, where the O(ε²) truncation term is below 1e-5.
public enum GradientCheck {
    /// Loss Σ y·r in Double.
    public static func loss(_ y: [Float], _ r: [Float]) -> Double {
        zip(y, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Compares `analytic` to central differences of `lossAt(values)` for the given indices of `values`.
    ///
    /// Piecewise-linear layers (ReLU, max-pool, hardtanh) have kinks; a ±ε step that crosses one makes the central
    /// difference meaningless. Such indices are recognised by a large second difference |L₊ − 2L₀ + L₋| compared to
    /// the first (a smooth loss has |L₊ − 2L₀ + L₋|/ε = O(ε), plus Float32 noise covered by `atol`) and skipped; at
    /// most a third of the indices may be skipped, so a wrong gradient cannot hide behind this rule.
    public static func check(_ name: String, values: inout [Float], analytic: [Float], indices: [Int], eps: Float = 1e-2,
                             atol: Double = 2e-3, rtol: Double = 2e-3, lossAt: ([Float]) -> Double,
                             file: StaticString = #filePath, line: UInt = #line) {
        let l0 = lossAt(values)
        var skipped = 0
        for i in indices {
            let saved = values[i]
            values[i] = saved + eps
            let lp = lossAt(values)
            values[i] = saved - eps
            let lm = lossAt(values)
            values[i] = saved
            let numeric = (lp - lm) / (2 * Double(eps))
            let curvature = abs(lp - 2 * l0 + lm) / Double(eps)
            if curvature > 0.03 * abs(numeric) + atol {
                skipped += 1
                continue
            }
            let a = Double(analytic[i])
            XCTAssertLessThanOrEqual(abs(numeric - a), atol + rtol * abs(numeric),
                                     "\(name)[\(i)]: analytic \(a) vs numeric \(numeric)", file: file, line: line)
        }
        XCTAssertLessThanOrEqual(skipped * 3, indices.count, "\(name): \(skipped) of \(indices.count) indices sat on a kink",
                                 file: file, line: line)
    }

    public static func random(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = RNG(seed: seed)
        return (0..<n).map { _ in rng.normal() * scale }
    }

    /// `count` distinct indices spread over 0..<n (all of them when n ≤ count).
    public static func sample(_ n: Int, _ count: Int, seed: UInt64 = 99) -> [Int] {
        if n <= count { return Array(0..<n) }
        var rng = RNG(seed: seed)
        return Array(rng.permutation(n).prefix(count)).sorted()
    }
}

extension Array where Element == Float {
    /// Runs `body` with a mutable pointer to a copy-on-write-free buffer.
    public func withPointer<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        var copy = self
        return copy.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}
