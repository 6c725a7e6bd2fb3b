import Foundation

/// The chip report as Markdown: per layer, and per circuit block.
extension CostModel {
    /// A per-layer table (Markdown).
    public static func table(_ r: ChipReport) -> String {
        var s = "| layer | rows x cols | positions | mapping | subarrays | copies | utilisation | energy pJ | ADC pJ "
            + "| area mm² | latency ns |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
        for l in r.layers {
            s += String(format: "| %@ | %d x %d | %d | %@ %dx%dx%d | %d | %d | %.1f %% | %.4g | %.4g | %.4g | %.4g |\n",
                        l.shape.name, l.shape.rows, l.shape.outChannels, l.shape.positions, l.mapping.scheme.rawValue,
                        l.mapping.kernelPositions, l.mapping.rowTiles, l.mapping.columnTiles, l.mapping.subarrays,
                        l.mapping.copies, 100 * l.mapping.utilization, l.energy_pj.total, l.energy_pj.adc,
                        l.area_mm2.total, l.latency_ns)
        }
        s += String(format: "| **chip** (%@) | | | | %d | | | %.4g | %.4g | %.4g | %.4g |\n", r.config.mode.rawValue,
                    r.subarrays, r.energy_pj.total, r.energy_pj.adc, r.area_mm2.total, r.latency_ns)
        for d in r.digital_layers {
            s += "| \(d.name) (FP32, digital, not costed) | \(d.rows) x \(d.outChannels) | \(d.positions) "
                + "| – | – | – | – | – | – | – | – |\n"
        }
        return s
    }

    /// Energy and area by circuit block, with shares, and the chip's latency figures (Markdown).
    public static func breakdownTable(_ r: ChipReport) -> String {
        let e = r.energy_pj, a = r.area_mm2
        let energy: [(String, Double)] = [("array (cells, bit lines)", e.array), ("word lines", e.wordline), ("ADC", e.adc),
            ("shift-add", e.shift_add), ("accumulation (trees, output stage)", e.accumulation), ("buffers", e.buffer),
            ("interconnect", e.interconnect), ("decoders, control, muxes", e.other), ("leakage", e.leakage)]
        let area: [(String, Double)] = [("array", a.array), ("ADC", a.adc), ("shift-add", a.shift_add),
            ("accumulation", a.accumulation), ("buffers", a.buffer), ("interconnect", a.interconnect),
            ("decoders, drivers, muxes, level shifters", a.other), ("unassigned floorplan", a.unassigned)]
        var s = "| energy per image | pJ | share |\n|---|---|---|\n"
        for (k, v) in energy { s += String(format: "| %@ | %.4g | %.1f %% |\n", k, v, 100 * v / max(e.total, 1e-30)) }
        s += String(format: "| **total** | %.4g | |\n\n| area | mm² | share |\n|---|---|---|\n", e.total)
        for (k, v) in area { s += String(format: "| %@ | %.4g | %.1f %% |\n", k, v, 100 * v / max(a.total, 1e-30)) }
        s += String(format: "| **total** | %.4g | |\n\n", a.total)
        s += String(format: "%@ mode: %.4g ns per image (Σ of the layers %.4g ns; slowest layer %@), clock %.3g ns, "
                    + "%d subarrays in %d tiles (PE %dx%d subarrays)\n", r.config.mode.rawValue, r.latency_ns,
                    r.sum_layer_latency_ns, r.bottleneck_layer, r.clock_ns, r.subarrays, r.tiles, r.pe_size, r.pe_size)
        return s
    }
}
