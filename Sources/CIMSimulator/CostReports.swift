import Foundation

/// Energy per image (pJ) by circuit block. JSON: every block and `total`.
public struct EnergyBreakdown: Sendable, Equatable, Codable {
    /// Cells and bit lines; word lines; ADCs; shift-add behind the ADCs; adder trees, popcounts and the output
    /// stage; activation buffers; H-tree and in-tile partial-sum wires; decoders, row control and multiplexers;
    /// leakage over the image's time.
    public var array = 0.0, wordline = 0.0, adc = 0.0, shift_add = 0.0, accumulation = 0.0, buffer = 0.0,
               interconnect = 0.0, other = 0.0, leakage = 0.0
    public var total: Double { array + wordline + adc + shift_add + accumulation + buffer + interconnect + other + leakage }

    public init() {}

    enum CodingKeys: String, CodingKey {
        case array, wordline, adc, shift_add, accumulation, buffer, interconnect, other, leakage, total
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        array = try c.decode(Double.self, forKey: .array); wordline = try c.decode(Double.self, forKey: .wordline)
        adc = try c.decode(Double.self, forKey: .adc); shift_add = try c.decode(Double.self, forKey: .shift_add)
        accumulation = try c.decode(Double.self, forKey: .accumulation); buffer = try c.decode(Double.self, forKey: .buffer)
        interconnect = try c.decode(Double.self, forKey: .interconnect); other = try c.decode(Double.self, forKey: .other)
        leakage = try c.decode(Double.self, forKey: .leakage)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        for (k, v) in [(CodingKeys.array, array), (.wordline, wordline), (.adc, adc), (.shift_add, shift_add),
                       (.accumulation, accumulation), (.buffer, buffer), (.interconnect, interconnect), (.other, other),
                       (.leakage, leakage), (.total, total)] { try c.encode(v, forKey: k) }
    }

    static func + (a: Self, b: Self) -> Self {
        var r = a
        r.array += b.array; r.wordline += b.wordline; r.adc += b.adc; r.shift_add += b.shift_add
        r.accumulation += b.accumulation; r.buffer += b.buffer; r.interconnect += b.interconnect; r.other += b.other
        r.leakage += b.leakage
        return r
    }
}

/// Area (mm²) by circuit block. JSON: every block and `total`.
public struct AreaBreakdown: Sendable, Equatable, Codable {
    /// Cell arrays; ADCs; shift-adds; tile adder trees; activation buffers; H-tree wiring; decoders, drivers,
    /// multiplexers and level shifters; floorplan space left between pitch-mismatched blocks.
    public var array = 0.0, adc = 0.0, shift_add = 0.0, accumulation = 0.0, buffer = 0.0, interconnect = 0.0,
               other = 0.0, unassigned = 0.0
    public var total: Double { array + adc + shift_add + accumulation + buffer + interconnect + other + unassigned }

    public init() {}

    enum CodingKeys: String, CodingKey {
        case array, adc, shift_add, accumulation, buffer, interconnect, other, unassigned, total
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        array = try c.decode(Double.self, forKey: .array); adc = try c.decode(Double.self, forKey: .adc)
        shift_add = try c.decode(Double.self, forKey: .shift_add)
        accumulation = try c.decode(Double.self, forKey: .accumulation); buffer = try c.decode(Double.self, forKey: .buffer)
        interconnect = try c.decode(Double.self, forKey: .interconnect); other = try c.decode(Double.self, forKey: .other)
        unassigned = try c.decode(Double.self, forKey: .unassigned)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        for (k, v) in [(CodingKeys.array, array), (.adc, adc), (.shift_add, shift_add), (.accumulation, accumulation),
                       (.buffer, buffer), (.interconnect, interconnect), (.other, other), (.unassigned, unassigned),
                       (.total, total)] { try c.encode(v, forKey: k) }
    }

    static func + (a: Self, b: Self) -> Self {
        var r = a
        r.array += b.array; r.adc += b.adc; r.shift_add += b.shift_add; r.accumulation += b.accumulation
        r.buffer += b.buffer; r.interconnect += b.interconnect; r.other += b.other; r.unassigned += b.unassigned
        return r
    }

    static func * (a: Self, s: Double) -> Self {
        var r = a
        r.array *= s; r.adc *= s; r.shift_add *= s; r.accumulation *= s; r.buffer *= s; r.interconnect *= s
        r.other *= s; r.unassigned *= s
        return r
    }
}

/// One mapped layer's floorplan and cost per image.
public struct LayerCost: Sendable, Equatable, Codable {
    public var shape: LayerShape
    public var mapping: LayerMapping
    public var energy_pj: EnergyBreakdown
    public var area_mm2: AreaBreakdown
    /// Time of this layer for one image (with its copies).
    public var latency_ns: Double
    /// Operations per image: 2 × MACs.
    public var ops: Double
    public var adcs: Int
}

/// The chip (docs/cim.md §Cost model): every mapped layer on its own tiles (weight-stationary). Energy and area
/// are sums over `layers`; the latency per image is their sum (layer-by-layer) or the slowest layer's (pipeline).
/// Layers not mapped (FP32 layers with `map_fp32_layers` off) are listed in `digital_layers` and not costed.
public struct ChipReport: Sendable, Equatable, Codable {
    public var config: CIMConfig
    public var layers: [LayerCost]
    public var digital_layers: [LayerShape]
    public var energy_pj: EnergyBreakdown
    public var area_mm2: AreaBreakdown
    /// Per image in the config's mode.
    public var latency_ns: Double
    /// Σ of the layers' latencies, and the slowest layer.
    public var sum_layer_latency_ns: Double
    public var bottleneck_layer: String
    public var clock_ns: Double
    public var ops: Double
    /// ops / energy: ops per pJ is 10¹² ops per joule, i.e. TOPS/W.
    public var tops_per_w: Double
    public var tops_per_mm2: Double
    public var images_per_s: Double
    public var subarrays: Int
    public var tiles: Int
    /// Subarrays per PE side.
    public var pe_size: Int
    /// Multiply-accumulates per image left to the digital (FP32) layers.
    public var digital_macs: Int
}
