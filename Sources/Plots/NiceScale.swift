import Foundation

/// Axis ticks that read at a glance: steps of 1, 2 or 5 times a power of ten (Heckbert, "Nice numbers for graph
/// labels", Graphics Gems, 1990) on linear axes, powers of ten (and 2, 5 between them when the range is short) on
/// logarithmic ones. Pure functions of the data range.
public enum NiceScale {
    /// Linear ticks: `step` is 1, 2 or 5 × 10ⁿ; `lower` and `upper` are the multiples of `step` that enclose the data.
    public struct Ticks: Equatable, Sendable {
        public var lower: Double
        public var upper: Double
        public var step: Double
        public var values: [Double]
    }

    /// The 1-2-5 number nearest `x` (> 0) on a log scale: 1.4 → 1, 1.5 → 2, 3.2 → 5, 7.1 → 10 (thresholds √2, √10, √50).
    public static func niceStep(_ x: Double) -> Double {
        precondition(x > 0 && x.isFinite, "a step must be positive and finite")
        let e = floor(log10(x)), f = x / pow(10, e)
        let m: Double = f < 2.0.squareRoot() ? 1 : f < 10.0.squareRoot() ? 2 : f < 50.0.squareRoot() ? 5 : 10
        return m * pow(10, e)
    }

    /// Ticks covering `[lo, hi]` with about `target` intervals (never fewer than `target / 2` for a non-empty range).
    /// A degenerate range (`lo == hi`) is widened to one unit of its own magnitude around the value.
    public static func linear(_ lo: Double, _ hi: Double, target: Int = 5) -> Ticks {
        precondition(lo.isFinite && hi.isFinite && lo <= hi && target >= 1)
        var a = lo, b = hi
        if b - a <= abs(a) * 1e-12 {
            let w = a == 0 ? 1 : niceStep(abs(a)) / 2
            a -= w; b += w
        }
        let step = niceStep((b - a) / Double(target))
        let first = (a / step).rounded(.down), last = (b / step).rounded(.up)
        // Snap to the step's decimals so that 0.1 × 3 prints as 0.3, not 0.30000000000000004.
        let decimals = max(0, -Int(floor(log10(step))) + 1)
        let scale = pow(10, Double(decimals))
        let tick = { (k: Double) in (k * step * scale).rounded() / scale }
        var values = stride(from: first, through: last, by: 1).map(tick)
        // A bound an ulp past a tick can divide to that tick exactly: one tick more then encloses it.
        if values.first! > a { values.insert(tick(first - 1), at: 0) }
        if values.last! < b { values.append(tick(last + 1)) }
        return Ticks(lower: values.first!, upper: values.last!, step: step, values: values)
    }

    /// Logarithmic ticks covering `[lo, hi]` (both > 0): every power of ten from the decade below `lo` to the decade
    /// above `hi`; when that is at most two decades, also 2 and 5 times each power (1, 2, 5, 10, 20, 50, …) trimmed
    /// to the values just enclosing the data.
    public static func log(_ lo: Double, _ hi: Double) -> [Double] {
        precondition(lo > 0 && hi >= lo && hi.isFinite)
        let d0 = Int(floor(log10(lo) + 1e-12)), d1 = Int(ceil(log10(hi) - 1e-12))
        let top = max(d1, d0 + 1)
        guard top - d0 <= 2 else { return (d0...top).map { pow(10, Double($0)) } }
        var all: [Double] = []
        for d in d0...top {
            for m in [1.0, 2, 5] where d < top || m == 1 { all.append(m * pow(10, Double(d))) }
        }
        let below = all.last { $0 <= lo * (1 + 1e-12) } ?? all.first!
        let above = all.first { $0 >= hi * (1 - 1e-12) } ?? all.last!
        return all.filter { $0 >= below && $0 <= above }
    }

    /// A tick label with as many decimals as `step` needs (0.1 → "0.3", 2 → "4", 0.05 → "0.15"), no exponent for
    /// values between 10⁻⁴ and 10⁷.
    public static func label(_ v: Double, step: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        guard a >= 1e-4 && a < 1e7 else { return String(format: "%g", v) }
        let decimals = max(0, -Int(floor(log10(step) + 1e-9)))
        var s = String(format: "%.\(decimals)f", v)
        if s.contains(".") {  // "0.150" from a coarse step estimate → "0.15"
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }

    /// A label for a logarithmic tick (1, 2, 5 × 10ⁿ): as short as the value allows ("0.02", "500", "1000").
    public static func logLabel(_ v: Double) -> String {
        label(v, step: pow(10, floor(log10(v) + 1e-9)))
    }
}
