import Foundation
import Plots

/// `runs/NAME/report.html`: the run on one page — headline numbers, loss/accuracy/throughput curves, time shares
/// (compute, communication, data), the CIM chip (summary, energy and area by circuit block, hardware-aware vs
/// software accuracy, the per-layer table) and the resolved config.
public enum RunReport {
    /// The page for `record`. `stepsPerEpoch` places step lines on the epoch axis (nil: estimated).
    public static func html(_ r: RunRecord, stepsPerEpoch: Int? = nil) -> String {
        let status = r.summary != nil ? "finished" : r.epochs.isEmpty ? "started" : "in progress, epoch \(r.epochs.last!.epoch)"
        var page = HTMLPage(title: "Run \(r.name)", subtitle: RunPlots.subject(r, full: true) + " · \(status)")
        page.cards(cards(r))
        page.section("curves", "Training curves")
        if r.epochs.isEmpty && r.steps.isEmpty {
            page.paragraph("No metrics yet: metrics.jsonl gets its first line after runtime.log_every_steps steps.", cls: "muted")
        } else {
            page.figures([RunPlots.loss(r, stepsPerEpoch: stepsPerEpoch).render(width: 620, height: 380),
                          RunPlots.accuracy(r).render(width: 620, height: 380)])
        }
        page.endSection()
        throughput(r, stepsPerEpoch: stepsPerEpoch, into: &page)
        if let c = r.cim { chip(c, into: &page) }
        page.section("config", "Resolved configuration (config.yaml)")
        page.raw("<pre>\(escapeHTML(r.configYAML.isEmpty ? "(config.yaml not found)" : r.configYAML))</pre>\n")
        page.endSection()
        return page.render()
    }

    static func cards(_ r: RunRecord) -> [(label: String, value: String, note: String)] {
        var out: [(String, String, String)] = []
        let last = r.epochs.last
        if let a = r.summary?.test_accuracy ?? last?.test_accuracy {
            out.append(("test accuracy", Quantity.fraction.format(a), "software, after epoch \(last?.epoch ?? r.summary?.epochs ?? 0)"))
        }
        if let c = r.cim {
            out.append(("on the CIM chip", Quantity.fraction.format(c.hardware_accuracy),
                        c.hardware_accuracy.map { String(format: "%+.2f points vs software", 100 * ($0 - c.software_accuracy)) }
                            ?? "hardware accuracy off (cim.accuracy)"))
            out.append(("energy / image", Quantity.energyPJ.format(c.chip.energy_pj.values.reduce(0, +)),
                         String(format: "%.1f TOPS/W", c.chip.tops_per_w)))
            out.append(("chip area", Quantity.areaMM2.format(c.chip.area_mm2.values.reduce(0, +)), "\(c.chip.subarrays) subarrays"))
            out.append(("latency / image", Quantity.timeNS.format(c.chip.latency_ns),
                        String(format: "%.0f images/s", c.chip.images_per_s)))
        }
        if let s = r.summary {
            out.append(("training speed", String(format: "%.0f img/s", s.images_per_s), "\(s.ranks) rank(s), all epochs"))
            out.append(("wall time", Quantity.timeS.format(s.wall_s), String(format: "peak RSS %.0f MB", s.peak_rss_mb)))
        } else if let e = last {
            out.append(("training speed", String(format: "%.0f img/s", e.images_per_s), "epoch \(e.epoch)"))
        }
        if let e = last {
            out.append(("communication", String(format: "%.1f %%", 100 * e.comm_wait_share), "of epoch \(e.epoch)'s training time"))
        }
        return out
    }

    static func throughput(_ r: RunRecord, stepsPerEpoch: Int?, into page: inout HTMLPage) {
        page.section("throughput", "Throughput and communication")
        guard let last = r.epochs.last else {
            page.paragraph("No epoch finished yet.", cls: "muted")
            page.endSection()
            return
        }
        let comm = last.comm_wait_share, data = last.data_wait_share ?? 0, compute = max(0, 1 - comm - data)
        page.paragraph(String(format: "Epoch %d: %.0f images/s over %@; of the training loop's time, %.1f %% computing, "
                              + "%.1f %% waiting for the gradient allreduce, %.1f %% waiting for data.", last.epoch,
                              last.images_per_s, r.summary.map { "\($0.ranks) rank(s)" } ?? "all ranks", 100 * compute,
                              100 * comm, 100 * data))
        page.raw("<div class=\"timebar\" title=\"time shares\">"
                 + "<span style=\"width:\(pct(compute));background:#0072B2\"></span>"
                 + "<span style=\"width:\(pct(comm));background:#E69F00\"></span>"
                 + "<span style=\"width:\(pct(data));background:#999\"></span></div>"
                 + "<div class=\"muted\"><span class=\"legend-dot\" style=\"background:#0072B2;margin-left:0\"></span>compute"
                 + "<span class=\"legend-dot\" style=\"background:#E69F00\"></span>communication wait"
                 + "<span class=\"legend-dot\" style=\"background:#999\"></span>data wait</div>\n")
        var t = HTMLTable(id: "epochs", headers: ["epoch", "lr", "train loss", "train acc.", "test loss", "test acc.",
                                                  "on chip", "images/s", "epoch time", "comm. wait", "data wait"], textColumns: [])
        for e in r.epochs {
            t.add([.number("\(e.epoch)"), .number(Quantity.significant(e.lr, 3)), .number(String(format: "%.4f", e.train_loss)),
                   .number(Quantity.fraction.format(e.train_accuracy)), .number(String(format: "%.4f", e.test_loss)),
                   .number(Quantity.fraction.format(e.test_accuracy)), .number(Quantity.fraction.format(e.hardware_accuracy)),
                   .number(String(format: "%.0f", e.images_per_s)), .number(Quantity.timeS.format(e.epoch_s)),
                   .number(String(format: "%.1f %%", 100 * e.comm_wait_share)),
                   .number(e.data_wait_share.map { String(format: "%.1f %%", 100 * $0) } ?? "–")])
        }
        page.raw(t.render())
        if !r.steps.isEmpty { page.figures([RunPlots.throughput(r, stepsPerEpoch: stepsPerEpoch).render(width: 620, height: 320)]) }
        page.endSection()
    }

    static func pct(_ v: Double) -> String { String(format: "%.2f%%", 100 * min(max(v, 0), 1)) }

    static func chip(_ c: RunRecord.CIM, into page: inout HTMLPage) {
        let cfg = c.chip.config
        let chipName = DisplayNames.chip(device: cfg.device, node: cfg.node, rows: cfg.subarray_rows,
                                         columns: cfg.subarray_columns, adcBits: cfg.adc_bits, adc: cfg.adc,
                                         columnsPerADC: cfg.columns_per_adc)
        page.section("cim", "The simulated CIM chip")
        page.paragraph("\(chipName); \(cfg.activation_bits)-bit activations fed bit-serially; evaluated after epoch \(c.epoch) "
                       + "(cim/report.json, cim/layers.md).")
        var s = HTMLTable(id: "chip-summary", headers: ["", "value"])
        let energy = c.chip.energy_pj.values.reduce(0, +), area = c.chip.area_mm2.values.reduce(0, +)
        let rows: [(String, String)] = [
            ("test accuracy, software", Quantity.fraction.format(c.software_accuracy)),
            ("test accuracy, hardware-aware (on the chip)", Quantity.fraction.format(c.hardware_accuracy)),
            ("energy per image", Quantity.energyPJ.format(energy)),
            ("area", Quantity.areaMM2.format(area)),
            ("latency per image", Quantity.timeNS.format(c.chip.latency_ns)),
            ("throughput", String(format: "%.0f images/s", c.chip.images_per_s)),
            ("efficiency", String(format: "%.1f TOPS/W, %.2f TOPS/mm²", c.chip.tops_per_w, c.chip.tops_per_mm2)),
            ("subarrays", "\(c.chip.subarrays) (\(cfg.subarray_rows)×\(cfg.subarray_columns))"),
            ("layers on the crossbar", "\(c.chip.layers.count)"),
            ("layers kept digital (FP32, not costed)", c.chip.digital_layers.isEmpty ? "none"
                : c.chip.digital_layers.map(\.name).joined(separator: ", ")),
        ]
        for (k, v) in rows { s.add([.text(k), .number(v)]) }
        page.raw("<div class=\"figures\"><div>" + s.render() + "</div><div>" + accuracyBars(c) + "</div></div>\n")
        let device = Palette.device(cfg.device) ?? "#0072B2"
        page.figures([
            BarChart(title: "Energy per image by circuit block", subtitle: chipName, quantity: .energyPJ,
                     items: c.chip.energy_pj.map { (DisplayNames.block($0.key), $0.value) }, color: device).render(width: 560),
            BarChart(title: "Area by circuit block", subtitle: chipName, quantity: .areaMM2,
                     items: c.chip.area_mm2.map { (DisplayNames.block($0.key), $0.value) }, color: device).render(width: 560),
        ])
        page.raw("<h2>Layer by layer</h2>\n")
        page.raw(layerTable(c))
        page.endSection()
    }

    /// The chip's layers: shape, mapping, energy (with its share and the ADC's), area, latency; the chip's totals;
    /// the layers kept digital.
    static func layerTable(_ c: RunRecord.CIM) -> String {
        let energy = c.chip.energy_pj.values.reduce(0, +), area = c.chip.area_mm2.values.reduce(0, +)
        var t = HTMLTable(id: "layers", headers: ["layer", "kind", "rows × columns", "positions", "subarrays", "utilisation",
                                                  "energy / image", "share", "of which ADC", "area", "latency"], textColumns: [0, 1])
        let layerEnergy = c.chip.layers.map { $0.energy_pj.values.reduce(0, +) }
        let eu = Quantity.energyPJ.unit(for: layerEnergy + [energy])
        let au = Quantity.areaMM2.unit(for: c.chip.layers.map { $0.area_mm2.values.reduce(0, +) } + [area])
        let lu = Quantity.timeNS.unit(for: c.chip.layers.map(\.latency_ns) + [c.chip.latency_ns])
        for l in c.chip.layers {
            let e = l.energy_pj.values.reduce(0, +)
            t.add([.text(l.shape.name), .text(l.shape.kind), .number("\(l.shape.rows) × \(l.shape.out_channels)"),
                   .number("\(l.shape.positions)"),
                   .number("\(l.mapping.subarrays ?? l.mapping.row_tiles * l.mapping.column_tiles) "
                           + "(\(l.mapping.scheme.map { $0 + " " } ?? "")\(l.mapping.row_tiles)×\(l.mapping.column_tiles))"),
                   .number(String(format: "%.1f %%", 100 * l.mapping.utilization)), .number(Quantity.energyPJ.format(e, in: eu)),
                   .number(String(format: "%.1f %%", 100 * e / max(energy, 1e-30)), share: e / max(energy, 1e-30)),
                   .number(Quantity.energyPJ.format(l.energy_pj["adc"], in: eu)),
                   .number(Quantity.areaMM2.format(l.area_mm2.values.reduce(0, +), in: au)),
                   .number(Quantity.timeNS.format(l.latency_ns, in: lu))])
        }
        t.add([.text("chip"), .text(""), .text(""), .text(""), .number("\(c.chip.subarrays)"), .text(""),
               .number(Quantity.energyPJ.format(energy, in: eu)), .number("100 %"),
               .number(Quantity.energyPJ.format(c.chip.energy_pj["adc"], in: eu)),
               .number(Quantity.areaMM2.format(area, in: au)), .number(Quantity.timeNS.format(c.chip.latency_ns, in: lu))],
              cls: "total")
        for d in c.chip.digital_layers {
            t.add([.text(d.name), .text(d.kind + ", FP32 digital"), .number("\(d.rows) × \(d.out_channels)"),
                   .number("\(d.positions)"), .text("–"), .text("–"), .text("not costed"), .text(""), .text(""), .text(""), .text("")],
                  cls: "muted")
        }
        return t.render()
    }

    /// Software vs hardware-aware accuracy as two bars on a 0–100 % scale.
    static func accuracyBars(_ c: RunRecord.CIM) -> String {
        let items: [(String, Double?, String)] = [("software", c.software_accuracy, RunPlots.testColor),
                                                  ("on the chip", c.hardware_accuracy, RunPlots.hardwareColor)]
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"bars\" id=\"accuracy-compare\" viewBox=\"0 0 420 120\" "
            + "width=\"420\" height=\"120\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">"
            + "<text x=\"4\" y=\"18\" font-size=\"14\" font-weight=\"bold\">Test accuracy: software vs on the chip</text>"
        for (i, it) in items.enumerated() {
            let y = 34 + Double(i) * 30, w = 260 * min(max(it.1 ?? 0, 0), 1)
            s += "<text x=\"84\" y=\"\(String(format: "%.0f", y + 15))\" text-anchor=\"end\">\(escapeHTML(it.0))</text>"
            s += "<rect x=\"90\" y=\"\(String(format: "%.0f", y + 2))\" width=\"260\" height=\"18\" fill=\"#eee\"/>"
            s += "<rect class=\"bar\" x=\"90\" y=\"\(String(format: "%.0f", y + 2))\" width=\"\(String(format: "%.1f", w))\" "
                + "height=\"18\" fill=\"\(it.2)\"/>"
            s += "<text x=\"356\" y=\"\(String(format: "%.0f", y + 15))\">\(escapeHTML(Quantity.fraction.format(it.1)))</text>"
        }
        return s + "</svg>"
    }
}
