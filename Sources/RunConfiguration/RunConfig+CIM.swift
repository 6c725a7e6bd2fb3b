import CIMSimulator

/// The `cim:` section of a config: the run-level keys and, flat beside them, the chip's (`CIMConfig`) under their
/// YAML names — `device`, `node`, `subarray` (rows = columns), `adc`, `adc_bits`, `cols_per_adc`, `adc_range`,
/// `variation`, `stuck_at_0`, `stuck_at_1`, `on_off_ratio`, `seed`, `mode` (layer-by-layer or pipeline),
/// `map_fp32_layers`, `max_copies`. The activation bits come from `quant.abits`
/// (`RunConfig.cimConfig`). Names that are not a device, ADC or node are decoding errors naming the key and the
/// choices.
extension RunConfig.CIMRunConfig: Codable {
    enum CodingKeys: String, CodingKey {
        case report, every_epochs, accuracy, aware_training, resample_variation
        case device, node, subarray, adc, adc_bits, cols_per_adc, adc_range, variation, stuck_at_0, stuck_at_1
        case on_off_ratio, seed, mode, map_fp32_layers, max_copies
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        report = try c.decode(String.self, forKey: .report)
        every_epochs = try c.decode(Int.self, forKey: .every_epochs)
        accuracy = try c.decode(Bool.self, forKey: .accuracy)
        aware_training = try c.decode(Bool.self, forKey: .aware_training)
        resample_variation = try c.decode(Bool.self, forKey: .resample_variation)
        func choice<T: CaseIterable & RawRepresentable>(_ key: CodingKeys, _: T.Type) throws -> T
            where T.RawValue: Decodable & LosslessStringConvertible {
            let raw = try c.decode(T.RawValue.self, forKey: key)
            guard let v = T(rawValue: raw) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "'\(raw)' is not valid; "
                    + "expected one of " + T.allCases.map { String(describing: $0.rawValue) }.joined(separator: ", "))
            }
            return v
        }
        chip = CIMConfig()
        chip.device = try choice(.device, DeviceKind.self)
        chip.node = try choice(.node, TechnologyNode.self)
        chip.adc = try choice(.adc, ADCKind.self)
        chip.subarrayRows = try c.decode(Int.self, forKey: .subarray)
        chip.subarrayColumns = chip.subarrayRows
        chip.adcBits = try c.decode(Int.self, forKey: .adc_bits)
        chip.columnsPerADC = try c.decode(Int.self, forKey: .cols_per_adc)
        chip.adcRange = try c.decode(Double.self, forKey: .adc_range)
        chip.variation = try c.decode(Double.self, forKey: .variation)
        chip.stuckAt0 = try c.decode(Double.self, forKey: .stuck_at_0)
        chip.stuckAt1 = try c.decode(Double.self, forKey: .stuck_at_1)
        chip.onOffRatio = try c.decode(Double.self, forKey: .on_off_ratio)
        chip.seed = try c.decode(UInt64.self, forKey: .seed)
        chip.mode = try choice(.mode, ExecutionMode.self)
        chip.mapFP32Layers = try c.decode(Bool.self, forKey: .map_fp32_layers)
        chip.maxCopies = try c.decode(Int.self, forKey: .max_copies)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(report, forKey: .report)
        try c.encode(every_epochs, forKey: .every_epochs)
        try c.encode(accuracy, forKey: .accuracy)
        try c.encode(chip.device.rawValue, forKey: .device)
        try c.encode(chip.node.rawValue, forKey: .node)
        try c.encode(chip.subarrayRows, forKey: .subarray)
        try c.encode(chip.adc.rawValue, forKey: .adc)
        try c.encode(chip.adcBits, forKey: .adc_bits)
        try c.encode(chip.columnsPerADC, forKey: .cols_per_adc)
        try c.encode(chip.adcRange, forKey: .adc_range)
        try c.encode(chip.variation, forKey: .variation)
        try c.encode(chip.stuckAt0, forKey: .stuck_at_0)
        try c.encode(chip.stuckAt1, forKey: .stuck_at_1)
        try c.encode(chip.onOffRatio, forKey: .on_off_ratio)
        try c.encode(chip.seed, forKey: .seed)
        try c.encode(chip.mode.rawValue, forKey: .mode)
        try c.encode(chip.mapFP32Layers, forKey: .map_fp32_layers)
        try c.encode(chip.maxCopies, forKey: .max_copies)
        try c.encode(aware_training, forKey: .aware_training)
        try c.encode(resample_variation, forKey: .resample_variation)
    }
}

extension RunConfig {
    /// The simulator settings of the `cim` section, for `activationBits`-bit inputs.
    public func cimConfig(activationBits: Int) throws -> CIMConfig {
        var c = cim.chip
        c.activationBits = activationBits
        do { try c.validate() } catch CIMError.invalid(let key, let value, let expected) {
            throw ConfigError.invalid(key: "cim.\(key == "subarray_columns" ? "subarray" : key)", value: value,
                                      expected: expected)
        }
        return c
    }

    func validateCIM() throws {
        guard ["end", "none"].contains(cim.report) else {
            throw ConfigError.invalid(key: "cim.report", value: cim.report, expected: "end or none")
        }
        guard cim.every_epochs >= 0 else {
            throw ConfigError.invalid(key: "cim.every_epochs", value: "\(cim.every_epochs)",
                                      expected: "an integer >= 0 (0 = only at the end)")
        }
        _ = try cimConfig(activationBits: quant.abits)
    }
}
