/// A memory cell technology used as one binary weight of a crossbar column: its layout area, its read conditions
/// and the energy one read of one cell costs. A new device is one new conforming type (and a `DeviceKind` case).
/// Every value is cited in docs/cim.md §Devices.
public protocol DeviceModel: Sendable {
    var kind: DeviceKind { get }
    /// Cell area in F² (F: the node's feature size).
    var cellAreaF2: Double { get }
    /// G_on / G_off (infinity: the off cell does not conduct).
    var onOffRatio: Double { get }
    /// Read voltage (V) and the duration of one read (ns).
    var readVoltage: Double { get }
    var readPulseNs: Double { get }
    /// Energy (pJ) of reading one cell with input bit 1, for an on and for an off cell.
    func readEnergy(on: Bool, node: TechnologyNode) -> Double
}

extension DeviceModel {
    /// Cell area in µm².
    public func cellArea(node: TechnologyNode) -> Double {
        let f = Double(node.rawValue) * 1e-3
        return cellAreaF2 * f * f
    }
}

/// An 8T SRAM cell with a decoupled read port (the CIM cell of DNN+NeuroSim): 160 F² (V2.1's 8F x 20F; V1.3's
/// suggested size above 22 nm); a digital cell,
/// so the off state does not conduct. A read discharges the read bitline's share of one cell, C·Vdd².
public struct SRAMCell: DeviceModel {
    public var kind: DeviceKind { .sram }
    public var cellAreaF2: Double { 160 }
    public var onOffRatio: Double { .infinity }
    public var readPulseNs: Double { 1 }
    public var readVoltage: Double { TechnologyNode.nm22.vdd }
    /// Read-bitline capacitance per cell at 45 nm (fF): wire over 8F plus the read transistor's drain (assumption).
    static let bitlineCapPerCell45 = 0.17

    public init() {}

    public func readEnergy(on: Bool, node: TechnologyNode) -> Double {
        guard on else { return 0 }
        let c = Self.bitlineCapPerCell45 * Double(node.rawValue) / 45 * 1e-15
        return c * node.vdd * node.vdd * 1e12
    }
}

/// A resistive cell read through an access transistor (1T1R or 1FeFET): E = V²/R · t_read.
public protocol ResistiveCell: DeviceModel {
    /// On-state resistance (Ω).
    var onResistance: Double { get }
}

extension ResistiveCell {
    public func readEnergy(on: Bool, node: TechnologyNode) -> Double {
        let r = on ? onResistance : onResistance * onOffRatio
        return readVoltage * readVoltage / r * readPulseNs * 1e-9 * 1e12
    }
}

/// 1T1R RRAM, DNN+NeuroSim V2.1 defaults: 4F x 4F, R_on = 100 kΩ, on/off 10, 0.5 V for 10 ns.
public struct RRAMCell: ResistiveCell {
    public var kind: DeviceKind { .rram }
    public var cellAreaF2: Double { 16 }
    public var onOffRatio: Double { 10 }
    public var onResistance: Double { 100e3 }
    public var readVoltage: Double { 0.5 }
    public var readPulseNs: Double { 10 }
    public init() {}
}

/// 1FeFET cell: ≈ 30 F² (5.3x denser than 6T SRAM, Reis et al. 2021, against the 160 F² SRAM cell); read like the
/// resistive cells with NeuroSim's defaults (0.5 V, 10 ns, 100 kΩ on); on/off 100 (assumption within the reported
/// 10²–10⁴ range).
public struct FeFETCell: ResistiveCell {
    public var kind: DeviceKind { .fefet }
    public var cellAreaF2: Double { 30 }
    public var onOffRatio: Double { 100 }
    public var onResistance: Double { 100e3 }
    public var readVoltage: Double { 0.5 }
    public var readPulseNs: Double { 10 }
    public init() {}
}
