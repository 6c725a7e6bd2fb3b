/// A memory cell technology used as one binary weight of a crossbar column: its layout, its read conditions and
/// what one column read costs. A new device is one new conforming type (and a `DeviceKind` case). Every value is
/// cited in docs/cim.md §Devices.
public protocol DeviceModel: Sendable {
    var kind: DeviceKind { get }
    /// Cell height (along a column, the row pitch) and width (along a row, the column pitch) in F.
    var cellHeightF: Double { get }
    var cellWidthF: Double { get }
    /// G_on / G_off (infinity: the off cell does not conduct).
    var onOffRatio: Double { get }
    /// Bit-line capacitance per cell on the column (fF at 22 nm; wire over the row pitch plus the access device's
    /// junction).
    var bitlineCapPerCell22: Double { get }
    /// True when writing needs voltages above V_dd: thick-oxide level shifters and write drivers on every row and
    /// column, at a pitch of their own (docs/cim.md §Subarray).
    var highVoltageWrite: Bool { get }
    /// Energy (pJ) of one read of one column with `rows` cells, a fraction `active` of them driven (input bit 1)
    /// and half the cells on, sensed for `senseTime` ns.
    func columnReadEnergy(rows: Double, active: Double, senseTime: Double, node: TechnologyNode) -> Double
}

extension DeviceModel {
    /// Cell area in F².
    public var cellAreaF2: Double { cellHeightF * cellWidthF }

    /// Cell area in µm².
    public func cellArea(node: TechnologyNode) -> Double {
        let f = node.featureMicrons
        return cellAreaF2 * f * f
    }

    /// Bit-line capacitance of a column of `rows` cells (fF), scaled with F.
    public func bitlineCap(rows: Double, node: TechnologyNode) -> Double {
        rows * bitlineCapPerCell22 * Double(node.rawValue) / 22
    }
}

/// The 8T SRAM cell of DNN+NeuroSim with a decoupled read port: 10F × 28F = 280 F² (the cell NeuroSim V1.4 lays
/// out at 22 nm: its reported array area is 280 F² per cell, ../shared/reference/neurosim-v1.4). A digital cell:
/// the off state does not conduct. A read precharges the read bit line and lets the driven on-cells discharge it:
/// at most C_BL·V_dd² per column read, no static current.
public struct SRAMCell: DeviceModel {
    public var kind: DeviceKind { .sram }
    public var cellHeightF: Double { 10 }
    public var cellWidthF: Double { 28 }
    public var onOffRatio: Double { .infinity }
    /// 0.2 fF: wire over the 10F row pitch (≈ 0.05 fF) and the read transistor's drain junction (≈ 0.15 fF).
    public var bitlineCapPerCell22: Double { 0.2 }
    public var highVoltageWrite: Bool { false }

    public init() {}

    public func columnReadEnergy(rows: Double, active: Double, senseTime: Double, node: TechnologyNode) -> Double {
        bitlineCap(rows: rows, node: node) * node.vdd * node.vdd * 1e-3
    }
}

/// A resistive cell read through an access device (1T1R RRAM, 1FeFET): the bit line is clamped at the read
/// voltage and every driven cell conducts V_r/R while the sense amplifier samples; plus charging the bit line.
public protocol ResistiveCell: DeviceModel {
    /// On-state resistance (Ω) and read voltage (V).
    var onResistance: Double { get }
    var readVoltage: Double { get }
}

extension ResistiveCell {
    public var highVoltageWrite: Bool { true }

    public func columnReadEnergy(rows: Double, active: Double, senseTime: Double, node: TechnologyNode) -> Double {
        let v = readVoltage
        let conductance = 0.5 / onResistance + (onOffRatio.isInfinite ? 0 : 0.5 / (onResistance * onOffRatio))
        let cells = rows * active * conductance * v * v * senseTime * 1e-9 * 1e12
        return cells + bitlineCap(rows: rows, node: node) * v * v * 1e-3
    }
}

/// 1T1R RRAM with DNN+NeuroSim's defaults: R_on = 100 kΩ, on/off 10, 0.5 V read; cell 4F × 12F = 48 F² (the
/// 1T1R cell NeuroSim V1.4 lays out at 22 nm: 5.83x smaller than its SRAM cell in the reference's array areas).
public struct RRAMCell: ResistiveCell {
    public var kind: DeviceKind { .rram }
    public var cellHeightF: Double { 4 }
    public var cellWidthF: Double { 12 }
    public var onOffRatio: Double { 10 }
    public var onResistance: Double { 100e3 }
    public var readVoltage: Double { 0.5 }
    /// 0.1 fF: a shorter row pitch (4F) than SRAM's and a smaller junction.
    public var bitlineCapPerCell22: Double { 0.1 }
    public init() {}
}

/// 1FeFET cell: ≈ 53 F² (4F × 13.2F: 5.3x denser than the SRAM cell, Reis et al., IEEE JxCDC 2021); read like the
/// resistive cells with NeuroSim's defaults (0.5 V, 100 kΩ on); on/off 100 (an assumption inside the reported
/// 10²–10⁴ range); written with ±4 V gate pulses, so it needs the same high-voltage periphery as RRAM.
public struct FeFETCell: ResistiveCell {
    public var kind: DeviceKind { .fefet }
    public var cellHeightF: Double { 4 }
    public var cellWidthF: Double { 13.2 }
    public var onOffRatio: Double { 100 }
    public var onResistance: Double { 100e3 }
    public var readVoltage: Double { 0.5 }
    public var bitlineCapPerCell22: Double { 0.1 }
    public init() {}
}
