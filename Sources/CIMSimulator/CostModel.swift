import Foundation

/// Energy per image (pJ) by component.
public struct EnergyBreakdown: Sendable, Equatable, Codable {
    public var array = 0.0, wordline = 0.0, adc = 0.0, shift_add = 0.0, accumulation = 0.0, buffer = 0.0,
               interconnect = 0.0
    public var total: Double { array + wordline + adc + shift_add + accumulation + buffer + interconnect }

    public init() {}

    static func + (a: Self, b: Self) -> Self {
        var r = a
        r.array += b.array; r.wordline += b.wordline; r.adc += b.adc; r.shift_add += b.shift_add
        r.accumulation += b.accumulation; r.buffer += b.buffer; r.interconnect += b.interconnect
        return r
    }
}

/// Area (mm²) by component.
public struct AreaBreakdown: Sendable, Equatable, Codable {
    public var array = 0.0, wordline_drivers = 0.0, adc = 0.0, shift_add = 0.0, accumulation = 0.0, buffer = 0.0
    public var total: Double { array + wordline_drivers + adc + shift_add + accumulation + buffer }

    public init() {}

    static func + (a: Self, b: Self) -> Self {
        var r = a
        r.array += b.array; r.wordline_drivers += b.wordline_drivers; r.adc += b.adc; r.shift_add += b.shift_add
        r.accumulation += b.accumulation; r.buffer += b.buffer
        return r
    }
}

/// One layer's mapping and cost per image.
public struct LayerCost: Sendable, Equatable, Codable {
    public var shape: LayerShape
    public var mapping: LayerMapping
    public var energy_pj: EnergyBreakdown
    public var area_mm2: AreaBreakdown
    public var latency_ns: Double
    /// Operations per image: 2 × MACs.
    public var ops: Double
    public var adcs: Int
}

/// The chip: every mapped layer (weight-stationary, each layer on its own subarrays), layer-by-layer processing.
/// Totals are sums over `layers`; layers kept in FP32 are listed in `digital_layers` and not costed.
public struct ChipReport: Sendable, Equatable, Codable {
    public var config: CIMConfig
    public var layers: [LayerCost]
    public var digital_layers: [LayerShape]
    public var energy_pj: EnergyBreakdown
    public var area_mm2: AreaBreakdown
    public var latency_ns: Double
    public var ops: Double
    /// ops / energy: ops per pJ is 10¹² ops per joule, i.e. TOPS/W.
    public var tops_per_w: Double
    public var tops_per_mm2: Double
    public var images_per_s: Double
    public var subarrays: Int
    /// Multiply-accumulates per image left to the digital (FP32) layers.
    public var digital_macs: Int
}

/// The analytic cost model (docs/cim.md §Cost model). Pure functions of the layer shapes and the config.
public enum CostModel {
    /// Cost of one binarized layer with `config.activationBits`-bit inputs.
    public static func layer(_ s: LayerShape, _ c: CIMConfig) -> LayerCost {
        precondition(s.binarized, "only binarized layers are mapped")
        let R = c.subarrayRows, C = c.subarrayColumns, k = Double(c.activationBits)
        let map = LayerMapping(s, rows: R, columns: C)
        let device = c.deviceModel, adc = c.adc.model, lib = DigitalLibrary(node: c.node)
        let P = Double(s.positions), K = Double(s.rows), N = Double(s.outChannels)
        let Tr = Double(map.rowTiles)
        let columnsRead = N + 1  // weight columns + the reference column
        let adcsPerSubarray = C / c.columnsPerADC
        let adcCount = map.subarrays * adcsPerSubarray
        let shiftAdd = ShiftAdd(adcBits: c.adcBits, activationBits: c.activationBits)
        let acc = Accumulation(adcBits: c.adcBits, activationBits: c.activationBits, rowTiles: map.rowTiles)
        let cycles = P * k  // bit-serial: one read of every subarray per input bit-plane
        let conversions = cycles * Tr * columnsRead
        let inputBitsFed = P * K * k * Double(map.columnTiles)
        let outputBits = P * N * 16

        var a = AreaBreakdown()
        let um2 = 1e-6
        a.array = Double(map.subarrays * R * C) * device.cellArea(node: c.node) * um2
        a.wordline_drivers = Double(map.subarrays * R) * lib.wordlineDriverArea * um2
        a.adc = Double(adcCount) * adc.area(bits: c.adcBits, node: c.node) * um2
        a.shift_add = Double(adcCount) * shiftAdd.area(lib) * um2
        a.accumulation = Double(map.columnTiles * C) * acc.area(lib) * um2
        a.buffer = Buffers(inputBits: s.rows * c.activationBits, outputBits: s.outChannels * 16).area(lib) * um2

        var e = EnergyBreakdown()
        let act = c.inputActivity
        let eOn = device.readEnergy(on: true, node: c.node), eOff = device.readEnergy(on: false, node: c.node)
        // Active rows × (weight cells, `act` of them on, + the all-on reference cell).
        e.array = cycles * K * act * (N * (act * eOn + (1 - act) * eOff) + eOn)
        e.wordline = cycles * K * act * Double(map.columnTiles * C) * lib.wordlineEnergyPerCell
        e.adc = conversions * adc.energy(bits: c.adcBits, node: c.node)
        e.shift_add = conversions * shiftAdd.energy(lib)
        e.accumulation = P * N * acc.energy(lib)
        e.buffer = (inputBitsFed + outputBits) * lib.bufferEnergyPerBit
        e.interconnect = Interconnect().energy(bits: inputBitsFed + outputBits, layerAreaUm2: a.total / um2, lib)

        let clk = 1e9 / c.clockHz
        let cycleNs = Swift.max(device.readPulseNs, clk)
            + Double(c.columnsPerADC) * adc.latency(bits: c.adcBits, clockHz: c.clockHz) + clk
        let latency = cycles * cycleNs + P * Double(acc.cycles) * clk
            + Interconnect().cycles(bits: inputBitsFed) * clk
        return LayerCost(shape: s, mapping: map, energy_pj: e, area_mm2: a, latency_ns: latency,
                         ops: 2 * Double(s.macs), adcs: adcCount)
    }

    /// The chip report: each binarized layer mapped and costed; totals summed over them.
    public static func chip(_ shapes: [LayerShape], _ c: CIMConfig) -> ChipReport {
        let layers = shapes.filter(\.binarized).map { layer($0, c) }
        let digital = shapes.filter { !$0.binarized }
        let e = layers.reduce(EnergyBreakdown()) { $0 + $1.energy_pj }
        let a = layers.reduce(AreaBreakdown()) { $0 + $1.area_mm2 }
        let latency = layers.reduce(0) { $0 + $1.latency_ns }
        let ops = layers.reduce(0) { $0 + $1.ops }
        let ips = latency > 0 ? 1e9 / latency : 0
        return ChipReport(config: c, layers: layers, digital_layers: digital, energy_pj: e, area_mm2: a,
                          latency_ns: latency, ops: ops, tops_per_w: e.total > 0 ? ops / e.total : 0,
                          tops_per_mm2: a.total > 0 ? ops * ips / 1e12 / a.total : 0, images_per_s: ips,
                          subarrays: layers.reduce(0) { $0 + $1.mapping.subarrays },
                          digital_macs: digital.reduce(0) { $0 + $1.macs })
    }

    /// A per-layer table (Markdown).
    public static func table(_ r: ChipReport) -> String {
        var s = "| layer | rows x cols | positions | subarrays | utilisation | energy pJ | ADC pJ | area mm² | latency ns |\n"
        s += "|---|---|---|---|---|---|---|---|---|\n"
        for l in r.layers {
            s += String(format: "| %@ | %d x %d | %d | %d (%dx%d) | %.1f %% | %.4g | %.4g | %.4g | %.4g |\n",
                        l.shape.name, l.shape.rows, l.shape.outChannels, l.shape.positions, l.mapping.subarrays,
                        l.mapping.rowTiles, l.mapping.columnTiles, 100 * l.mapping.utilization, l.energy_pj.total,
                        l.energy_pj.adc, l.area_mm2.total, l.latency_ns)
        }
        s += String(format: "| **chip** | | | %d | | %.4g | %.4g | %.4g | %.4g |\n", r.subarrays, r.energy_pj.total,
                     r.energy_pj.adc, r.area_mm2.total, r.latency_ns)
        for d in r.digital_layers {
            s += "| \(d.name) (FP32, digital, not costed) | \(d.rows) x \(d.outChannels) | \(d.positions) "
                + "| – | – | – | – | – | – |\n"
        }
        return s
    }
}
