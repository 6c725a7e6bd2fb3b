import Foundation

/// What a number measures, in the unit the simulator and the run folder store it in; `unit(for:)` picks the display
/// unit that keeps the largest value between 1 and 1000 (µJ rather than 3.692e+05 pJ).
public enum Quantity: Sendable, Equatable {
    /// A number without unit.
    case plain
    /// Energy stored in picojoules.
    case energyPJ
    /// Area stored in mm².
    case areaMM2
    /// Time stored in nanoseconds.
    case timeNS
    /// Time stored in seconds.
    case timeS
    /// A fraction 0...1 shown in percent.
    case fraction

    /// A display unit: shown value = stored value × `factor`.
    public struct Unit: Sendable, Equatable {
        public var symbol: String
        public var factor: Double
        public init(_ symbol: String, _ factor: Double) { self.symbol = symbol; self.factor = factor }
    }

    /// The candidate units, smallest first.
    var units: [Unit] {
        switch self {
        case .plain: return [Unit("", 1)]
        case .energyPJ: return [Unit("fJ", 1e3), Unit("pJ", 1), Unit("nJ", 1e-3), Unit("µJ", 1e-6), Unit("mJ", 1e-9), Unit("J", 1e-12)]
        case .areaMM2: return [Unit("µm²", 1e6), Unit("mm²", 1), Unit("cm²", 1e-2)]
        case .timeNS: return [Unit("ps", 1e3), Unit("ns", 1), Unit("µs", 1e-3), Unit("ms", 1e-6), Unit("s", 1e-9)]
        case .timeS: return [Unit("µs", 1e6), Unit("ms", 1e3), Unit("s", 1)]
        case .fraction: return [Unit("%", 100)]
        }
    }

    /// The largest unit in which the largest magnitude of `values` is at least 1 (the smallest unit when all are
    /// below it). Area switches to µm² only below 0.01 mm² (mm² is the field's unit for chips).
    public func unit(for values: [Double]) -> Unit {
        let finite = values.filter(\.isFinite).map(abs)
        let m = finite.max() ?? 0
        let us = units
        guard m > 0 else { return self == .areaMM2 ? us[1] : us[min(1, us.count - 1)] }
        if self == .areaMM2 { return m < 0.01 ? us[0] : m >= 100 ? us[2] : us[1] }
        return us.last { m * $0.factor >= 1 } ?? us[0]
    }

    /// `v` with three significant digits in its own best unit: "369 nJ", "538 µm²", "81.30 %".
    public func format(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "–" }
        return format(v, in: unit(for: [v]))
    }

    /// `v` in a given unit (one unit for a whole table column: `unit(for: column)`): "0.369 µJ", "1.40 µJ".
    public func format(_ v: Double?, in u: Unit) -> String {
        guard let v, v.isFinite else { return "–" }
        if self == .fraction { return String(format: "%.2f %%", 100 * v) }
        return Self.significant(v * u.factor, 3) + (u.symbol.isEmpty ? "" : " " + u.symbol)
    }

    /// `v` with `digits` significant digits, without exponent between 10⁻³ and 10⁶ ("1234", "0.0123", "5.60").
    public static func significant(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return "–" }
        if v == 0 { return "0" }
        let a = abs(v)
        guard a >= 1e-3 && a < 1e6 else { return String(format: "%.\(digits - 1)e", v) }
        let decimals = max(0, digits - 1 - Int(floor(log10(a))))
        return String(format: "%.\(decimals)f", v)
    }
}
