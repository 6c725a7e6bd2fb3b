import Foundation

/// A column ADC as a circuit block: area, energy per conversion and conversion time, as functions of its
/// resolution (docs/cim.md §ADC). Every ADC turns a column's current into a b-bit code; the kinds differ in how.
public protocol ADCModel: Sendable {
    var kind: ADCKind { get }
    /// Area of one ADC (µm²).
    func area(bits: Int, node: TechnologyNode) -> Double
    /// Energy of one conversion (pJ).
    func energy(bits: Int, node: TechnologyNode) -> Double
    /// Time of one conversion (ns): the column's share of a bit-plane read.
    func conversionTime(bits: Int) -> Double
}

/// Multi-level sense amplifier (DNN+NeuroSim's default read-out, `SARADC = false`; Peng et al., IEDM 2019 and
/// TCAD 2021): 2ᵇ − 1 current-mode sense amplifiers compare the column current with 2ᵇ − 1 reference currents in
/// parallel — a flash converter built from sense amplifiers, one decision time per conversion.
///
/// - energy = (2ᵇ − 1)·E_SA with E_SA = 2 fJ per decision at 22 nm: a latch of ≈ 3 fF swinging V_dd
///   (C·V², StrongARM latch, Razavi, IEEE SSC Magazine 2015), scaled by C·V² to other nodes;
/// - area = (2ᵇ − 1)·A_SA + A_ref with A_SA = 3 µm² (a sense amplifier of ≈ 12 minimum transistors at 22 nm) and
///   A_ref = 10 µm² for the reference-current mirror bank (our estimates), scaled with F²;
/// - time = 0.15 ns per decision (a 22 nm latch resolves in ≈ 100–200 ps).
public struct MultilevelSenseAmp: ADCModel {
    public var kind: ADCKind { .mlsa }
    static let decisionEnergy22 = 2e-3  // pJ
    static let senseAmpArea22 = 3.0, referenceArea22 = 10.0  // µm²

    public init() {}

    public func area(bits: Int, node: TechnologyNode) -> Double {
        (Double((1 << bits) - 1) * Self.senseAmpArea22 + Self.referenceArea22) * node.areaScale(from: .nm22)
    }

    public func energy(bits: Int, node: TechnologyNode) -> Double {
        Double((1 << bits) - 1) * Self.decisionEnergy22 * node.energyScale(from: .nm22)
    }

    public func conversionTime(bits: Int) -> Double { 0.15 }
}

/// Successive-approximation ADC: one comparator, a binary-weighted capacitor DAC of 2ᵇ units and b-bit logic.
///
/// - energy = FOM_W · 2ᵇ with the Walden figure of merit FOM_W = 10 fJ/conversion-step at 32 nm (Kull et al.,
///   JSSC 2013: 8 bit, 1.2 GS/s, 3.1 mW in 32 nm SOI → 2.6 pJ per conversion), scaled to the node;
/// - time = b + 1 comparator cycles of 0.093 ns (Kull et al.: 1.2 GS/s for 9 cycles of an 8-bit conversion);
/// - area = b·A_bit + 2ᵇ·A_unit with A_bit = 120 µm² and A_unit = 2 µm² at 32 nm (8 bit ≈ 1500 µm², the area
///   Kull et al. report; the split between logic and capacitors is our assumption).
public struct SARADC: ADCModel {
    public var kind: ADCKind { .sar }
    static let fomWalden32 = 10e-3  // pJ per conversion step at 32 nm
    static let areaPerBit32 = 120.0, areaPerUnitCap32 = 2.0
    static let cycle = 0.093  // ns

    public init() {}

    public func area(bits: Int, node: TechnologyNode) -> Double {
        (Double(bits) * Self.areaPerBit32 + Double(1 << bits) * Self.areaPerUnitCap32) * node.areaScale(from: .nm32)
    }

    public func energy(bits: Int, node: TechnologyNode) -> Double {
        Self.fomWalden32 * Double(1 << bits) * node.energyScale(from: .nm32)
    }

    public func conversionTime(bits: Int) -> Double { Double(bits + 1) * Self.cycle }
}

/// Flash ADC: 2ᵇ − 1 voltage comparators and a thermometer-to-binary encoder resolve a sample at once.
///
/// energy = (2ᵇ − 1)·E_cmp, area = (2ᵇ − 1)·A_cmp with a StrongARM comparator of E_cmp = 30 fJ and A_cmp = 40 µm²
/// at 45 nm (with its preamplifier and the resistor ladder tap; assumptions of the order Razavi's StrongARM review
/// gives), scaled to the node; time 0.3 ns (comparator plus encoder).
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

    public func conversionTime(bits: Int) -> Double { 0.3 }
}

// MARK: - Transfer function (hardware-aware inference)

/// The ADC transfer function applied to a column's partial sum (in units of one on-cell current):
/// code(s) = clamp(round(s / step), 0, L), L = 2ᵇ − 1, step = max(1, full scale / L), rounding half to even, and the
/// sum it stands for q(s) = code(s)·step. An ADC with at least as many levels as the column has rows resolves every
/// integer sum: it is then lossless for ideal cells. s / step is computed as s·(1/step), the arithmetic of every
/// kernel (`ADCLanes`, the popcount datapath), so a sum converts to the same code on any path. The datapath shifts
/// and adds the codes — integers, exactly — and multiplies by the step once (`CrossbarArray.scaleCodes`).
public struct ADCQuantizer: Sendable, Equatable {
    public let levels: Int
    public let step: Float
    public let fullScale: Float
    /// 1/step, rounded once.
    public let inverseStep: Float

    public init(bits: Int, rows: Int, range: Double) {
        levels = (1 << bits) - 1
        fullScale = Float(range * Double(rows))
        step = Swift.max(1, fullScale / Float(levels))
        inverseStep = 1 / step
    }

    /// The code of a sum: an integer in 0…L.
    @inline(__always)
    public func code(_ s: Float) -> Float {
        Swift.min(Swift.max((s * inverseStep).rounded(.toNearestOrEven), 0), Float(levels))
    }

    /// The sum the code stands for, code(s)·step.
    @inline(__always)
    public func callAsFunction(_ s: Float) -> Float { code(s) * step }

    /// True when every integer partial sum of `rows` cells passes unchanged.
    public func isLossless(rows: Int) -> Bool { step == 1 && Float(levels) >= Float(rows) }
}

/// The codes of 16 partial sums at once, as the datapath's kernels compute them: round(s·(1/step)) by the
/// round-to-nearest-even constant 1.5·2²³, clamped to 0…L — `ADCQuantizer.code`'s arithmetic, bit for bit. nil: a
/// lossless conversion, the sums pass unchanged (a flag, not an Optional: the kernels' loops test it without a call).
struct ADCLanes {
    let passesThrough: Bool
    let inverseStep: SIMD16<Float>, top: SIMD16<Float>

    init(_ adc: ADCQuantizer?) {
        passesThrough = adc == nil
        inverseStep = SIMD16(repeating: adc?.inverseStep ?? 1)
        top = SIMD16(repeating: Float(adc?.levels ?? 0))
    }

    @inline(__always)
    func code(_ s: SIMD16<Float>) -> SIMD16<Float> {
        if passesThrough { return s }
        let magic = SIMD16<Float>(repeating: 12_582_912), zero = SIMD16<Float>(repeating: 0)
        var v = (s * inverseStep + magic) - magic
        v.replace(with: zero, where: v .< zero)
        v.replace(with: top, where: v .> top)
        return v
    }
}
