import Foundation

/// The analytic cost model (docs/cim.md §Cost model): pure functions of the layer shapes and the config.
///
/// Per input vector a layer works through its stages one after another: the tile's buffer delivers the vector,
/// the bits cross the H-tree, k bit-planes are read (each: one clock for the subarray read, one for the
/// shift-add, bus cycles for the bit-plane's new inputs), the adder tree and the output stage run, the outputs
/// are written back. Energy counts every event of every vector; area counts the allocated subarrays with their
/// periphery, the tiles' adder trees and buffers, and the H-tree.
public enum CostModel {
    /// Buffer accesses per input vector (global buffer read, tile buffer write and read, global buffer write of
    /// the outputs) and the register cycles of one.
    static let bufferAccesses = 4, bufferAccessCycles = 2

    /// The chip report of `shapes` under `c` (mode, mapping of FP32 layers and all circuit settings from `c`).
    public static func chip(_ shapes: [LayerShape], _ c: CIMConfig) -> ChipReport {
        let onChip = { (s: LayerShape) in s.binarized || c.mapFP32Layers }
        let mapped = shapes.filter(onChip), digital = shapes.filter { !onChip($0) }
        let inputBits = mapped.map { $0.binarized ? c.activationBits : 8 }
        let weightColumns = mapped.map { $0.binarized ? 1 : c.fp32WeightBits }
        var plan = Floorplan(mapped, inputBits: inputBits, weightColumns: weightColumns, config: c)
        let sub = SubarrayCircuit(c)
        let clk = sub.clockPeriod
        if c.mode == .pipeline {
            let once = zip(mapped, plan.layers).map { s, m in
                vectorTime(s, m, c, Interconnect(tiles: plan.tiles), clk) * Double(s.positions)
            }
            plan.duplicate(times: once, maxCopies: c.maxCopies)
        }
        let ic = Interconnect(tiles: plan.tiles)

        // Area: per layer without the H-tree, then the H-tree shared out by area.
        var areas = zip(mapped, plan.layers).map { s, m in layerArea(s, m, plan, sub) }
        let core = areas.reduce(0) { $0 + $1.total }
        let wires = ic.area(coreArea: core * 1e6, node: c.node) * 1e-6
        for i in areas.indices { areas[i].interconnect = core > 0 ? wires * areas[i].total / core : 0 }
        let chipSideMm = (core + wires).squareRoot()
        let tileSideMm = plan.tiles > 0 ? (core / Double(plan.tiles)).squareRoot() : 0
        let peSideMm = tileSideMm / Double(plan.kernelTilePEs).squareRoot()

        var layers: [LayerCost] = []
        for (i, (s, m)) in zip(mapped, plan.layers).enumerated() {
            let e = layerEnergy(s, m, c, sub, ic, chipSideMm: chipSideMm, peSideMm: peSideMm)
            let vectors = Double((s.positions + m.copies - 1) / m.copies)
            layers.append(LayerCost(shape: s, mapping: m, energy_pj: e, area_mm2: areas[i],
                                    latency_ns: vectors * vectorTime(s, m, c, ic, clk), ops: 2 * Double(s.macs),
                                    adcs: m.subarrays * sub.adcs))
        }
        let sum = layers.reduce(0) { $0 + $1.latency_ns }
        let slowest = layers.max { $0.latency_ns < $1.latency_ns }
        let latency = c.mode == .pipeline ? slowest?.latency_ns ?? 0 : sum
        // Leakage: the powered area (not the unassigned space) over the image's time, shared out by area.
        for i in layers.indices {
            let powered = layers[i].area_mm2.total - layers[i].area_mm2.unassigned
            layers[i].energy_pj.leakage = sub.lib.leakagePerMm2 * powered * latency * 1e-3
        }
        let e = layers.reduce(EnergyBreakdown()) { $0 + $1.energy_pj }
        let a = layers.reduce(AreaBreakdown()) { $0 + $1.area_mm2 }
        let ops = layers.reduce(0) { $0 + $1.ops }
        let ips = latency > 0 ? 1e9 / latency : 0
        return ChipReport(config: c, layers: layers, digital_layers: digital, energy_pj: e, area_mm2: a,
                          latency_ns: latency, sum_layer_latency_ns: sum, bottleneck_layer: slowest?.shape.name ?? "",
                          clock_ns: clk, ops: ops, tops_per_w: e.total > 0 ? ops / e.total : 0,
                          tops_per_mm2: a.total > 0 ? ops * ips / 1e12 / a.total : 0, images_per_s: ips,
                          subarrays: plan.subarrays, tiles: plan.tiles, pe_size: plan.peSize,
                          digital_macs: digital.reduce(0) { $0 + $1.macs })
    }

    /// Time of one input vector of one copy (ns).
    static func vectorTime(_ s: LayerShape, _ m: LayerMapping, _ c: CIMConfig, _ ic: Interconnect, _ clk: Double)
        -> Double {
        let acc = Accumulation(adcBits: c.adcBits, inputBits: m.inputBits, partialSums: m.partialSums)
        let fixed = bufferAccesses * bufferAccessCycles + ic.hops + acc.cycles
        let perBit = 2 + ic.cycles(bits: s.inChannels)
        return Double(fixed + m.inputBits * perBit) * clk
    }

    /// A layer's area (mm²) without the H-tree: its subarrays with their periphery, its tiles' adder trees and
    /// buffers.
    static func layerArea(_ s: LayerShape, _ m: LayerMapping, _ plan: Floorplan, _ sub: SubarrayCircuit)
        -> AreaBreakdown {
        let one = sub.area(inputBits: m.inputBits), n = Double(m.subarrays), um2 = 1e-6
        var a = AreaBreakdown()
        a.array = n * one.array * um2; a.adc = n * one.adc * um2; a.shift_add = n * one.shiftAdd * um2
        a.other = n * one.other * um2; a.unassigned = n * one.unassigned * um2
        let tiles = m.tiles * m.copies
        // One adder (with its register) per output column of each PE column of the tile.
        let adders = Double(plan.pesPerTile(m.scheme)).squareRoot().rounded(.up) * Double(plan.peSize * sub.config.subarrayColumns)
        let width = Double(sub.config.adcBits + m.inputBits + 6)
        a.accumulation = Double(tiles) * adders * width * (sub.lib.adderAreaPerBit + sub.lib.registerAreaPerBit) * um2
        a.buffer = Buffers(bits: s.inHeight * s.inWidth * s.inChannels * m.inputBits).area(sub.lib) * um2
        return a
    }

    /// A layer's dynamic energy per image (pJ).
    static func layerEnergy(_ s: LayerShape, _ m: LayerMapping, _ c: CIMConfig, _ sub: SubarrayCircuit,
                            _ ic: Interconnect, chipSideMm: Double, peSideMm: Double) -> EnergyBreakdown {
        let lib = sub.lib
        let V = Double(s.positions), k = Double(m.inputBits), N = Double(s.outChannels)
        let groups = Double(m.rowGroups), groupRows = Double(s.rows) / groups
        let conversions = V * k * groups * Double(m.columnsRead)
        let read = sub.columnRead(groupRows: groupRows)
        let acc = Accumulation(adcBits: c.adcBits, inputBits: m.inputBits, partialSums: m.partialSums)
        var e = EnergyBreakdown()
        e.array = conversions * read.array
        e.adc = conversions * read.adc
        e.wordline = V * k * Double(s.rows) * c.inputActivity * Double(m.columnTiles) * sub.wordlineEnergy
        e.shift_add = conversions * ShiftAdd(adcBits: c.adcBits, inputBits: m.inputBits).energy(lib)
        e.accumulation = V * N * acc.energy(lib)
        if !m.referenceColumn { e.accumulation += V * k * Double(s.rows) * lib.addEnergyPerBit }  // popcounts
        e.other = conversions * read.mux + V * k * groups * Double(m.columnTiles) * sub.rowControlEnergy
        let inputBits = Double(s.inHeight * s.inWidth * s.inChannels) * k
        let outputBits = V * N * Double(c.activationBits)
        e.buffer = (inputBits + outputBits) * lib.bufferEnergyPerBit
        // Each PE sends its row groups' sum per output column (b + k + ⌈log₂ row groups⌉ bits) to the tile's tree.
        let peWidth = Double(c.adcBits + m.inputBits) + Double(m.rowTiles).log2Ceil
        let partialSums = V * Double(m.kernelPositions) * N * Double(m.columnsPerWeight) * peWidth
        e.interconnect = ic.energy(bits: inputBits, distanceMm: chipSideMm, lib)
            + ic.energy(bits: partialSums, distanceMm: peSideMm, lib)
        return e
    }
}
