import Foundation

/// One R × C subarray with its own periphery (docs/cim.md §Subarray): the cell array; C/`cols_per_adc` ADCs behind
/// column multiplexers; a shift-add per ADC; row decoders and word-line drivers; column precharge/write drivers;
/// for devices written above V_dd, a thick-oxide level shifter and write driver on every row and column.
///
/// **Floorplan.** The periphery sits along the array's edges at the array's pitch. A high-voltage driver cannot
/// shrink to a 4F row pitch: its rows and columns are laid at `highVoltagePitch`, and the array is spread to
/// match. The space this opens between the cells is the subarray's `unassigned` area — why a 48 F² RRAM cell
/// does not make a small chip (NeuroSim reports the same effect as unassigned floorplan area).
///
/// **Timing.** One bit-plane of one subarray: the word lines rise (`wordlineTime`), then the multiplexer steps
/// through its `cols_per_adc` columns, each settled (`muxTime`) and converted. The chip's clock is this time or
/// the nominal clock, whichever is slower: the slowest sensing path sets the cycle.
public struct SubarrayCircuit: Sendable {
    public let config: CIMConfig
    public let device: any DeviceModel
    public let adc: any ADCModel
    public let lib: DigitalLibrary

    /// Word-line rise (a 128-cell line's RC is ≈ 30 ps at 22 nm; with its driver) and multiplexer settling (ns).
    public static let wordlineTime = 0.1, muxTime = 0.05
    /// Thick-oxide driver pitch at 22 nm (µm), scaled with F, and one level shifter + write driver (µm²).
    public static let highVoltagePitch22 = 1.0, highVoltageDriverArea22 = 6.0
    /// Word-line capacitance per cell: the access gate (fF) plus wire over the cell width at 0.2 fF/µm.
    public static let wordlineGateCap = 0.05, wireCapPerMicron = 0.2
    /// Row-select control per row and bit-plane, and a multiplexer step (pJ, 22 nm).
    public static let rowControlEnergy22 = 0.15e-3, muxEnergy22 = 1e-3

    public init(_ c: CIMConfig) {
        config = c
        device = c.deviceModel
        adc = c.adc.model
        lib = DigitalLibrary(node: c.node)
    }

    var rows: Int { config.subarrayRows }
    var columns: Int { config.subarrayColumns }
    public var adcs: Int { columns / config.columnsPerADC }

    // MARK: Area (µm² per subarray)

    public struct Area: Sendable {
        public var array = 0.0, adc = 0.0, shiftAdd = 0.0, other = 0.0, unassigned = 0.0
    }

    public func area(inputBits: Int) -> Area {
        let f = config.node.featureMicrons
        let arrayH = Double(rows) * device.cellHeightF * f, arrayW = Double(columns) * device.cellWidthF * f
        var a = Area()
        a.array = arrayH * arrayW
        a.adc = Double(adcs) * adc.area(bits: config.adcBits, node: config.node)
        a.shiftAdd = Double(adcs) * ShiftAdd(adcBits: config.adcBits, inputBits: inputBits).area(lib)
        a.other = Double(rows) * lib.rowDriverArea + Double(columns) * (lib.muxArea + lib.columnDriverArea)
        if device.highVoltageWrite {
            let scale = Double(config.node.rawValue) / 22
            a.other += Double(rows + columns) * Self.highVoltageDriverArea22 * config.node.areaScale(from: .nm22)
            let pitch = Self.highVoltagePitch22 * scale
            let boxH = Swift.max(arrayH, Double(rows) * pitch), boxW = Swift.max(arrayW, Double(columns) * pitch)
            a.unassigned = boxH * boxW - arrayH * arrayW
        }
        return a
    }

    // MARK: Energy (pJ per event)

    /// One column read and its conversion (array, ADC, multiplexer) for a row group of `groupRows` rows.
    public func columnRead(groupRows: Double) -> (array: Double, adc: Double, mux: Double) {
        (device.columnReadEnergy(rows: groupRows, active: config.inputActivity,
                                 senseTime: adc.conversionTime(bits: config.adcBits), node: config.node),
         adc.energy(bits: config.adcBits, node: config.node),
         Self.muxEnergy22 * config.node.energyScale(from: .nm22))
    }

    /// Raising one word line across one subarray.
    public var wordlineEnergy: Double {
        let cellW = device.cellWidthF * config.node.featureMicrons
        let cap = Double(columns) * (Self.wordlineGateCap + cellW * Self.wireCapPerMicron)  // fF
        return cap * config.node.vdd * config.node.vdd * 1e-3
    }

    /// Row-select control of one subarray for one bit-plane.
    public var rowControlEnergy: Double { Double(rows) * Self.rowControlEnergy22 * config.node.energyScale(from: .nm22) }

    // MARK: Timing

    /// One bit-plane read of one subarray (ns).
    public var bitPlaneTime: Double {
        Self.wordlineTime + Double(config.columnsPerADC) * (Self.muxTime + adc.conversionTime(bits: config.adcBits))
    }

    /// The chip's clock period (ns): the nominal clock or the bit-plane read, whichever is slower.
    public var clockPeriod: Double { Swift.max(1e9 / config.clockHz, bitPlaneTime) }
}
