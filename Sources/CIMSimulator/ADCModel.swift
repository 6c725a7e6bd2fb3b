import Foundation

/// A column ADC as a circuit block: area, energy per conversion and conversion time, as functions of its
/// resolution (docs/cim.md §ADC).
public protocol ADCModel: Sendable {
    var kind: ADCKind { get }
    /// Area of one ADC (µm²).
    func area(bits: Int, node: TechnologyNode) -> Double
    /// Energy of one conversion (pJ).
    func energy(bits: Int, node: TechnologyNode) -> Double
    /// Time of one conversion (ns) at the periphery clock.
    func latency(bits: Int, clockHz: Double) -> Double
}

/// Successive-approximation ADC: one comparator, a binary-weighted capacitor DAC of 2ᵇ units and b-bit logic.
///
/// - energy = FOM_W · 2ᵇ with the Walden figure of merit FOM_W = 10 fJ/conversion-step at 32 nm (Kull et al.,
///   JSSC 2013: 8 bit, 1.2 GS/s, 3.1 mW in 32 nm SOI → 2.6 pJ per conversion), scaled to the node;
/// - latency = (b + 1) clock cycles (DNN+NeuroSim's SAR model);
/// - area = b·A_bit + 2ᵇ·A_unit with A_bit = 120 µm² and A_unit = 2 µm² at 32 nm (8 bit ≈ 1500 µm², the area
///   Kull et al. report; the split between logic and capacitors is our assumption).
public struct SARADC: ADCModel {
    public var kind: ADCKind { .sar }
    static let fomWalden32 = 10e-3  // pJ per conversion step at 32 nm
    static let areaPerBit32 = 120.0, areaPerUnitCap32 = 2.0

    public init() {}

    public func area(bits: Int, node: TechnologyNode) -> Double {
        let s = node.areaScale / TechnologyNode.nm32.areaScale
        return (Double(bits) * Self.areaPerBit32 + Double(1 << bits) * Self.areaPerUnitCap32) * s
    }

    public func energy(bits: Int, node: TechnologyNode) -> Double {
        Self.fomWalden32 * Double(1 << bits) * node.energyScale / TechnologyNode.nm32.energyScale
    }

    public func latency(bits: Int, clockHz: Double) -> Double { Double(bits + 1) / clockHz * 1e9 }
}

/// Flash ADC: 2ᵇ − 1 comparators resolve a sample in one clock cycle.
///
/// energy = (2ᵇ − 1)·E_cmp, area = (2ᵇ − 1)·A_cmp with a StrongARM comparator of E_cmp = 30 fJ and A_cmp = 40 µm²
/// at 45 nm (assumptions of the order Razavi's StrongARM review gives), scaled to the node; latency one cycle.
public struct FlashADC: ADCModel {
    public var kind: ADCKind { .flash }
    static let comparatorEnergy45 = 30e-3  // pJ
    static let comparatorArea45 = 40.0  // µm²

    public init() {}

    public func area(bits: Int, node: TechnologyNode) -> Double {
        Double((1 << bits) - 1) * Self.comparatorArea45 * node.areaScale
    }

    public func energy(bits: Int, node: TechnologyNode) -> Double {
        Double((1 << bits) - 1) * Self.comparatorEnergy45 * node.energyScale
    }

    public func latency(bits: Int, clockHz: Double) -> Double { 1 / clockHz * 1e9 }
}

// MARK: - Transfer function (hardware-aware inference)

/// The ADC transfer function applied to a column's partial sum (in units of one on-cell current):
/// q(s) = clamp(round(s / step), 0, L)·step, L = 2ᵇ − 1, step = max(1, full scale / L). An ADC with at least as
/// many levels as the column has rows resolves every integer sum: it is then lossless for ideal cells.
public struct ADCQuantizer: Sendable, Equatable {
    public let levels: Int
    public let step: Float
    public let fullScale: Float

    public init(bits: Int, rows: Int, range: Double) {
        levels = (1 << bits) - 1
        fullScale = Float(range * Double(rows))
        step = Swift.max(1, fullScale / Float(levels))
    }

    @inline(__always)
    public func callAsFunction(_ s: Float) -> Float {
        let code = Swift.min(Swift.max((s / step).rounded(.toNearestOrEven), 0), Float(levels))
        return code * step
    }

    /// True when every integer partial sum of `rows` cells passes unchanged.
    public func isLossless(rows: Int) -> Bool { step == 1 && Float(levels) >= Float(rows) }
}
