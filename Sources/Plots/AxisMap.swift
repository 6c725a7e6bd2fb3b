import Foundation

/// One axis of a plot in display units: linear or logarithmic, its domain, ticks, tick labels and minor grid lines,
/// and the map from a value to its fraction of the axis length.
struct AxisMap {
    let log: Bool
    /// The domain (log axes: in log10).
    let lower: Double, upper: Double
    let ticks: [Double]
    let labels: [String]
    /// Minor grid values (log axes spanning more than two decades: 2…9 × 10ⁿ).
    let minor: [Double]

    /// - Parameters:
    ///   - values: the data in display units (non-finite values ignored).
    ///   - integerTicks: label every integer when the data are a few small integers (activation bits).
    init(_ axis: SVGPlot.Axis, values: [Double], integerTicks: Bool) {
        let v = values.filter(\.isFinite)
        let positive = v.filter { $0 > 0 }
        let lo = v.min() ?? 0, hi = v.max() ?? 1
        switch axis.scale {
        case .linear: log = false
        case .log: log = !positive.isEmpty
        case .auto: log = !v.isEmpty && positive.count == v.count && hi / lo >= 30 && !axis.includeZero
        }
        if log {
            // The domain is the data's range plus 4 % of it (at least 0.04 decade) each side; ticks inside it.
            let plo = positive.min()!, phi = positive.max()!
            let pad = 0.04 * Swift.max(log10(phi) - log10(plo), 1)
            let lo10 = log10(plo) - pad, hi10 = log10(phi) + pad
            lower = lo10; upper = hi10
            let inside = { (v: Double) in log10(v) >= lo10 - 1e-9 && log10(v) <= hi10 + 1e-9 }
            let t = NiceScale.log(plo, phi).filter(inside)
            ticks = t
            labels = t.map(NiceScale.logLabel)
            let decadesOnly = t.count > 1 && t.allSatisfy { abs(log10($0) - log10($0).rounded()) < 1e-9 }
            let lowDecade = floor(lo10), highDecade = ceil(hi10)
            minor = decadesOnly
                ? stride(from: lowDecade, to: highDecade, by: 1).flatMap { d in (2...9).map { Double($0) * pow(10, d) } }.filter(inside)
                : []
            return
        }
        minor = []
        if integerTicks && !v.isEmpty && v.allSatisfy({ $0 == $0.rounded() }) && hi - lo <= 12 && !axis.includeZero {
            ticks = Array(stride(from: lo, through: hi, by: 1))
            labels = ticks.map { String(Int($0)) }
            lower = lo - 0.5; upper = hi + 0.5
            return
        }
        var a = axis.includeZero ? Swift.min(lo, 0) : lo, b = axis.includeZero ? Swift.max(hi, 0) : hi
        // Pad 4 % so that markers clear the frame; an axis from zero (epochs, losses) starts and ends on its data.
        if !axis.includeZero {
            let pad = (b - a) * 0.04
            a -= pad; b += pad
        }
        let t = NiceScale.linear(a, b, target: 5)
        ticks = t.values
        labels = t.values.map { NiceScale.label($0, step: t.step) }
        // An axis from zero ending on its last data value gets 3 % of room beyond it, without another tick.
        lower = t.lower
        upper = axis.includeZero && b > 0 && t.upper - b < 0.03 * (t.upper - t.lower) ? t.upper + 0.03 * (t.upper - t.lower) : t.upper
    }

    /// Whether `v` can be drawn (finite, and positive on a log axis).
    func accepts(_ v: Double) -> Bool { v.isFinite && (!log || v > 0) }

    /// `v`'s position along the axis, 0 at `lower`, 1 at `upper`.
    func fraction(_ v: Double) -> Double {
        let t = log ? log10(v) : v
        return upper > lower ? (t - lower) / (upper - lower) : 0.5
    }
}
