import Foundation

/// A cost split by circuit block: the blocks are named fields (`fields`), everything else — the total, the sum of
/// two breakdowns, the JSON with every block and `total` — follows from that list.
public protocol CostBreakdown: Sendable, Equatable, Codable {
    init()
    static var fields: [(name: String, path: WritableKeyPath<Self, Double>)] { get }
}

struct BreakdownKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension CostBreakdown {
    public var total: Double { Self.fields.reduce(0) { $0 + self[keyPath: $1.path] } }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: BreakdownKey.self)
        for f in Self.fields { self[keyPath: f.path] = try c.decode(Double.self, forKey: BreakdownKey(stringValue: f.name)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: BreakdownKey.self)
        for f in Self.fields { try c.encode(self[keyPath: f.path], forKey: BreakdownKey(stringValue: f.name)) }
        try c.encode(total, forKey: BreakdownKey(stringValue: "total"))
    }

    static func + (a: Self, b: Self) -> Self {
        var r = a
        for f in fields { r[keyPath: f.path] += b[keyPath: f.path] }
        return r
    }
}

/// Energy per image (pJ) by circuit block.
public struct EnergyBreakdown: CostBreakdown {
    /// Cells and bit lines; word lines; ADCs; shift-add behind the ADCs; adder trees, popcounts and the output
    /// stage; activation buffers; H-tree and in-tile partial-sum wires; decoders, row control and multiplexers;
    /// leakage over the image's time.
    public var array = 0.0, wordline = 0.0, adc = 0.0, shift_add = 0.0, accumulation = 0.0, buffer = 0.0,
               interconnect = 0.0, other = 0.0, leakage = 0.0

    public init() {}

    public static var fields: [(name: String, path: WritableKeyPath<Self, Double>)] {
        [("array", \.array), ("wordline", \.wordline), ("adc", \.adc), ("shift_add", \.shift_add),
         ("accumulation", \.accumulation), ("buffer", \.buffer), ("interconnect", \.interconnect), ("other", \.other),
         ("leakage", \.leakage)]
    }
}

/// Area (mm²) by circuit block.
public struct AreaBreakdown: CostBreakdown {
    /// Cell arrays; ADCs; shift-adds; tile adder trees; activation buffers; H-tree wiring; decoders, drivers,
    /// multiplexers and level shifters; floorplan space left between pitch-mismatched blocks.
    public var array = 0.0, adc = 0.0, shift_add = 0.0, accumulation = 0.0, buffer = 0.0, interconnect = 0.0,
               other = 0.0, unassigned = 0.0

    public init() {}

    public static var fields: [(name: String, path: WritableKeyPath<Self, Double>)] {
        [("array", \.array), ("adc", \.adc), ("shift_add", \.shift_add), ("accumulation", \.accumulation),
         ("buffer", \.buffer), ("interconnect", \.interconnect), ("other", \.other), ("unassigned", \.unassigned)]
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
