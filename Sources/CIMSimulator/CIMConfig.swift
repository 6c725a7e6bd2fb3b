/// The settings of one simulated CIM chip: a value, validated once (`validate()`), passed to every model that needs
/// it. Defaults follow DNN+NeuroSim where it has one (docs/cim.md §Parameters).
public struct CIMConfig: Sendable, Equatable, Codable {
    /// Memory cell technology.
    public var device: DeviceKind = .sram
    /// Technology node of the CMOS periphery and the cell layout.
    public var node: TechnologyNode = .nm22
    /// Subarray rows (inputs summed on one column) and columns.
    public var subarrayRows: Int = 128
    public var subarrayColumns: Int = 128
    /// ADC resolution and architecture; columns sharing one ADC through a multiplexer.
    public var adcBits: Int = 5
    public var adc: ADCKind = .mlsa
    public var columnsPerADC: Int = 8
    /// Layer-by-layer (one copy of every layer, layers run one after another) or pipelined (layers run
    /// concurrently, fast layers duplicated; the slowest layer sets the time per image).
    public var mode: ExecutionMode = .layerByLayer
    /// Map the layers kept in FP32 (first and last) too, with `fp32WeightBits`-bit weights over ⌈bits / cell
    /// bits⌉ columns per weight and 8-bit inputs, so the chip prices the whole network.
    public var mapFP32Layers: Bool = true
    public var fp32WeightBits: Int = 8
    /// Copies of one layer at most in pipeline mode.
    public var maxCopies: Int = 4
    /// Full scale of the ADC as a fraction of the subarray's rows (the largest partial sum of one bit-plane):
    /// 1 covers every possible sum; smaller values trade clipping for a finer step.
    public var adcRange: Double = 1
    /// Activation bits fed bit-serially (the cost model's k; hardware-aware inference takes k from the layer).
    public var activationBits: Int = 4
    /// Clock of the periphery (Hz).
    public var clockHz: Double = 1e9
    /// σ of the log-normal conductance variation: G = G₀·exp(σ·z), z ~ N(0, 1).
    public var variation: Double = 0
    /// Probability that a cell is stuck in the off (0) or on (1) state.
    public var stuckAt0: Double = 0
    public var stuckAt1: Double = 0
    /// G_on/G_off; 0 takes the device's published ratio, infinity means an ideal off cell.
    public var onOffRatio: Double = 0
    /// Seed of the variation and fault draws.
    public var seed: UInt64 = 0
    /// Fraction of input bits that are 1, for the analytic energy. 0.25: post-ReLU activations, half of them zero
    /// and the others' bits 1 half of the time. (Half the binary cells are on: BWMA's balanced split.)
    public var inputActivity: Double = 0.25

    public init() {}

    /// JSON keys follow the run config's snake_case (encoders use `.convertToSnakeCase`; these two need spelling out).
    enum CodingKeys: String, CodingKey {
        case device, node, subarrayRows, subarrayColumns, adcBits, adc, columnsPerADC = "columns_per_adc", adcRange
        case activationBits, clockHz, variation, stuckAt0 = "stuck_at_0", stuckAt1 = "stuck_at_1", onOffRatio, seed
        case inputActivity, mode, mapFP32Layers = "map_fp32_layers", fp32WeightBits = "fp32_weight_bits", maxCopies
    }

    /// The device model of `device`.
    public var deviceModel: any DeviceModel { device.model }

    /// The on/off ratio the datapath uses.
    public var effectiveOnOffRatio: Double { onOffRatio > 0 ? onOffRatio : deviceModel.onOffRatio }
    /// Cells without device effects: off cells do not conduct (infinite on/off ratio), no faults, no variation.
    public var hasIdealCells: Bool { effectiveOnOffRatio.isInfinite && stuckAt0 + stuckAt1 == 0 && variation == 0 }

    /// Checks ranges; the first failure is thrown, naming its key (`cim.<key>` in a run config).
    public func validate() throws {
        func require(_ ok: Bool, _ key: String, _ value: Any, _ expected: String) throws {
            if !ok { throw CIMError.invalid(key: key, value: "\(value)", expected: expected) }
        }
        try require(subarrayRows >= 8 && subarrayRows <= 4096, "subarray", subarrayRows, "an integer in 8...4096")
        try require(subarrayColumns >= 8 && subarrayColumns <= 4096, "subarray_columns", subarrayColumns,
                    "an integer in 8...4096")
        try require((1...12).contains(adcBits), "adc_bits", adcBits, "an integer in 1...12")
        try require(columnsPerADC >= 1 && subarrayColumns % columnsPerADC == 0, "cols_per_adc", columnsPerADC,
                    "an integer >= 1 that divides the subarray's columns (\(subarrayColumns))")
        try require(adcRange > 0 && adcRange <= 1, "adc_range", adcRange, "a number in (0, 1]")
        try require((1...8).contains(activationBits), "abits", activationBits, "an integer in 1...8")
        try require(clockHz > 0 && clockHz.isFinite, "clock_hz", clockHz, "a positive number")
        try require(variation >= 0 && variation <= 2, "variation", variation, "a number in [0, 2] (log-normal sigma)")
        try require(stuckAt0 >= 0 && stuckAt0 <= 1, "stuck_at_0", stuckAt0, "a probability in [0, 1]")
        try require(stuckAt1 >= 0 && stuckAt1 <= 1, "stuck_at_1", stuckAt1, "a probability in [0, 1]")
        try require(stuckAt0 + stuckAt1 <= 1, "stuck_at_1", stuckAt1, "stuck_at_0 + stuck_at_1 <= 1")
        try require(onOffRatio == 0 || onOffRatio > 1, "on_off_ratio", onOffRatio,
                    "0 (the device's value) or a ratio > 1 (.inf for an ideal off cell)")
        try require(inputActivity >= 0 && inputActivity <= 1, "input_activity", inputActivity, "a number in [0, 1]")
        try require((1...16).contains(fp32WeightBits), "fp32_weight_bits", fp32WeightBits, "an integer in 1...16")
        try require((1...64).contains(maxCopies), "max_copies", maxCopies, "an integer in 1...64")
    }
}

/// Memory cell technologies; each names its `DeviceModel`.
public enum DeviceKind: String, Sendable, CaseIterable, Codable {
    case sram, rram, fefet

    public var model: any DeviceModel {
        switch self {
        case .sram: return SRAMCell()
        case .rram: return RRAMCell()
        case .fefet: return FeFETCell()
        }
    }
}

/// ADC architectures: multi-level sense amplifier (DNN+NeuroSim's default), successive approximation, flash.
public enum ADCKind: String, Sendable, CaseIterable, Codable {
    case mlsa, sar, flash

    public var model: any ADCModel {
        switch self {
        case .mlsa: return MultilevelSenseAmp()
        case .sar: return SARADC()
        case .flash: return FlashADC()
        }
    }
}

/// How the layers share the chip's time (docs/cim.md §Execution modes).
public enum ExecutionMode: String, Sendable, CaseIterable, Codable {
    case layerByLayer = "layer-by-layer", pipeline
}

/// A user-caused problem with CIM settings or inputs, naming the key or flag.
public enum CIMError: Error, CustomStringConvertible, Equatable {
    case invalid(key: String, value: String, expected: String)
    case unsupported(String)

    public var description: String {
        switch self {
        case let .invalid(key, value, expected): return "\(key): got \(value), expected \(expected)"
        case .unsupported(let s): return s
        }
    }
}
