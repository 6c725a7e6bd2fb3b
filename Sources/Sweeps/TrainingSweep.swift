import CIMSimulator
import Data
import Distributed
import Foundation
import Models
import RunConfiguration
import Training
import Yams

/// `bwma sweep`: whole trainings over a grid of config values, each evaluated on the simulated CIM chip.
///
/// The world is split into groups (`SweepPlan`); each group trains its points in turn, data-parallel over its ranks,
/// in `runs/<name>/<point label>/` (a complete run folder each). After a point is trained the group evaluates it
/// on every hardware setting of the evaluation grid (`--eval-grid cim.device=sram,rram`: settings that do not change
/// the training — the test pass through the crossbar and the analytic cost), and world rank 0 gathers every result
/// into `runs/<name>/sweep.csv`, SVG plots, `report.md` naming the knee (docs/cim.md §Knee) and `report.html`.
public enum TrainingSweep {
    /// One (training point, evaluation setting) of the sweep.
    public struct Row: Codable, Sendable, Equatable {
        public var point: Int
        public var label: String
        /// The point's `--grid` and `--eval-grid` values, `key=value`.
        public var settings: [String]
        public var ranks: Int
        public var software_accuracy: Double
        public var hardware_accuracy: Double?
        public var device: String
        public var abits: Int
        public var adc_bits: Int
        public var energy_pj: Double
        public var area_mm2: Double
        public var latency_ns: Double
        public var tops_per_w: Double
        public var chip_images_per_s: Double
        public var train_images_per_s: Double
        public var train_wall_s: Double
    }

    public struct Outcome: Sendable {
        public var rows: [Row]
        public var knee: Sweep.Knee?
        public var folder: String
    }

    /// Runs the sweep on every rank of `world`; the outcome is complete on every rank.
    /// - Parameters:
    ///   - overrides: `--set` values applied to every point before the grid's.
    public static func run(config path: String, overrides: [String], grid: SweepPlan, evaluation: SweepPlan?,
                           world: Communicator, log: @escaping (String) -> Void) throws -> Outcome {
        let base = try ConfigLoader.load(path: path, overrides: overrides)
        let root = "\(base.runtime.runs_dir)/\(base.name)"
        let points = try Points(path: path, overrides: overrides, grid: grid, evaluation: evaluation, root: root)
        let groups = SweepPlan.groups(points: grid.count, ranks: world.size)
        let group = SweepPlan.group(ofRank: world.rank, ranks: world.size, groups: groups)
        let comm = try world.split(color: group, key: world.rank)
        if world.rank == 0 {
            log("bwma sweep: \(grid.count) training point(s) x \(points.evals) hardware setting(s) on \(world.size) "
                + "rank(s) in \(groups) group(s); results in \(root)/")
        }
        var table = [Double](repeating: 0, count: grid.count * points.evals * fields)
        for i in SweepPlan.points(ofGroup: group, groups: groups, points: grid.count) {
            let values = try trainAndEvaluate(i, points, configPath: path, root: root, comm: comm,
                                              log: { log("[\(grid.label(i))] \($0)") })
            if comm.rank == 0 { table.replaceSubrange((i * points.evals * fields)..<((i + 1) * points.evals * fields),
                                                      with: values) }
        }
        // Each (point, setting) is filled by exactly one rank; the sum gathers them everywhere.
        try world.allreduce(&table)
        let rows = try self.rows(table, points)
        let knee = Sweep.knee(rows.map(cimRow))
        if world.rank == 0 { try write(rows, knee: knee, config: base, to: root, grid: grid, evaluation: evaluation) }
        return Outcome(rows: rows, knee: knee, folder: root)
    }

    /// Every point's training config and, per hardware setting, its evaluation config — all loaded and validated
    /// before anything trains (the error names the key).
    struct Points {
        let grid: SweepPlan, evaluation: SweepPlan?
        var configs: [RunConfig] = [], hardware: [[RunConfig]] = []
        var evals: Int { evaluation?.count ?? 1 }

        init(path: String, overrides: [String], grid: SweepPlan, evaluation: SweepPlan?, root: String) throws {
            self.grid = grid
            self.evaluation = evaluation
            for i in 0..<grid.count {
                var c = try ConfigLoader.load(path: path, overrides: overrides + grid.overrides(i))
                c.name = grid.label(i)
                c.runtime.runs_dir = root
                c.cim.report = "none"  // the sweep evaluates each point on every hardware setting itself
                configs.append(c)
                hardware.append(try (0..<evals).map { j in
                    try ConfigLoader.load(path: path, overrides: overrides + grid.overrides(i) + settings(j))
                })
            }
        }

        /// The `--eval-grid` overrides of hardware setting `j`.
        func settings(_ j: Int) -> [String] { evaluation?.overrides(j) ?? [] }
    }

    /// Numbers per (point, setting) in the gathered table.
    static let fields = 12

    /// Trains point `i` on the group `comm`, then evaluates it under every hardware setting; returns its
    /// `evals × fields` table entries (filled on the group's rank 0).
    static func trainAndEvaluate(_ i: Int, _ points: Points, configPath path: String, root: String, comm: Communicator,
                                 log say: @escaping (String) -> Void) throws -> [Double] {
        let cfg = points.configs[i], label = points.grid.label(i)
        let data = try DataLoading.load(cfg, configPath: path, log: comm.rank == 0 ? say : { _ in })
        let classes = cfg.model.num_classes > 0 ? cfg.model.num_classes : data.train.source.numClasses
        try DataLoading.check(inputShape: data.inputShape, classes: classes, against: data, config: cfg, source: path,
                              ranks: comm.size)
        let model = try ModelZoo.make(cfg.model.arch, inputShape: data.inputShape, numClasses: classes,
                                      seed: cfg.seed, quant: try cfg.quantPolicy())
        let folder = comm.rank == 0 ? try RunFolder(root: root, name: label) : nil
        try folder?.write("config.yaml", Data(try YAMLEncoder().encode(cfg).utf8))
        let trainer = try Trainer(config: cfg, model: model, train: data.train, test: data.test, folder: folder,
                                  communicator: comm, log: say)
        let summary = try trainer.run()
        let shapes = Mapping.layerShapes(of: model)
        var values: [Double] = []
        for hwCfg in points.hardware[i] {
            let hw = try hwCfg.cimConfig(activationBits: cfg.quant.abits)
            let chip = CostModel.chip(shapes, hw)
            var hwAccuracy = Double.nan
            if hwCfg.cim.accuracy && shapes.contains(where: \.binarized) {
                HardwareAwareInference.attach(to: model, config: hw)
                defer { HardwareAwareInference.detach(from: model) }
                hwAccuracy = try trainer.evaluate().accuracy
            }
            if comm.rank == 0 {
                say(String(format: "%@: software %.4f, hardware-aware %.4f, %.4g pJ/image, %.4g mm²",
                           hw.device.rawValue, summary.test_accuracy, hwAccuracy, chip.energy_pj.total, chip.area_mm2.total))
            }
            values += [1, Double(comm.size), summary.test_accuracy, hwAccuracy,
                       Double(DeviceKind.allCases.firstIndex(of: hw.device)!), Double(hw.adcBits),
                       chip.energy_pj.total, chip.area_mm2.total, chip.latency_ns, chip.tops_per_w,
                       summary.images_per_s, summary.wall_s]
        }
        return values
    }

    /// The gathered table as rows (point-major, settings within a point).
    static func rows(_ table: [Double], _ points: Points) throws -> [Row] {
        var rows: [Row] = []
        let grid = points.grid, evals = points.evals
        for i in 0..<grid.count {
            for j in 0..<evals {
                let v = Array(table[((i * evals + j) * fields)..<((i * evals + j + 1) * fields)])
                guard v[0] == 1 else { throw SweepError(point: grid.label(i), problem: "produced no result") }
                rows.append(Row(point: i, label: grid.label(i), settings: grid.overrides(i) + points.settings(j),
                                ranks: Int(v[1]), software_accuracy: v[2], hardware_accuracy: v[3].isNaN ? nil : v[3],
                                device: DeviceKind.allCases[Int(v[4])].rawValue, abits: points.configs[i].quant.abits,
                                adc_bits: Int(v[5]), energy_pj: v[6], area_mm2: v[7], latency_ns: v[8], tops_per_w: v[9],
                                chip_images_per_s: v[8] > 0 ? 1e9 / v[8] : 0, train_images_per_s: v[10], train_wall_s: v[11]))
            }
        }
        return rows
    }

    /// The row as the CIM sweep's row type (for its knee rule and plots).
    static func cimRow(_ r: Row) -> Sweep.Row {
        Sweep.Row(point: Sweep.Point(device: DeviceKind(rawValue: r.device)!, activationBits: r.abits, adcBits: r.adc_bits),
                  energy_pj: r.energy_pj, array_pj: .nan, adc_pj: .nan, area_mm2: r.area_mm2, latency_ns: r.latency_ns,
                  images_per_s: r.chip_images_per_s, tops_per_w: r.tops_per_w, tops_per_mm2: .nan,
                  accuracy: r.hardware_accuracy ?? r.software_accuracy)
    }

    public static func csv(_ rows: [Row]) -> String {
        var s = "point,label,settings,ranks,software_accuracy,hardware_accuracy,device,abits,adc_bits,energy_pj_per_image,"
            + "area_mm2,latency_ns,tops_per_w,train_images_per_s\n"
        func f(_ v: Double) -> String { String(format: "%.6g", v) }
        for r in rows {
            s += ["\(r.point)", r.label, r.settings.joined(separator: " "), "\(r.ranks)", f(r.software_accuracy),
                  r.hardware_accuracy.map(f) ?? "", r.device, "\(r.abits)", "\(r.adc_bits)", f(r.energy_pj), f(r.area_mm2),
                  f(r.latency_ns), f(r.tops_per_w), f(r.train_images_per_s)].joined(separator: ",") + "\n"
        }
        return s
    }

    /// sweep.csv, the accuracy-vs-cost plots (the Pareto view, one series per device), the cost plots, report.md
    /// and report.html.
    static func write(_ rows: [Row], knee: Sweep.Knee?, config: RunConfig, to root: String, grid: SweepPlan,
                      evaluation: SweepPlan?) throws {
        let folder = try RunFolder(url: URL(fileURLWithPath: root), checkpoints: false)
        try folder.write("sweep.csv", Data(csv(rows).utf8))
        let plots = Sweep.plots(rows.map(cimRow), knee: knee, subject: subject(config))
        for (file, svg) in plots { try folder.write(file, Data(svg.utf8)) }
        try writeReport(rows, knee: knee, config: config, to: folder, grid: grid, evaluation: evaluation, plots: plots)
        var md = "# Sweep \(URL(fileURLWithPath: root).lastPathComponent)\n\n"
        md += "Grid: " + grid.axes.map { "`\($0.key)` = \($0.values.joined(separator: ", "))" }.joined(separator: "; ")
        if let e = evaluation { md += "; hardware settings: " + e.axes.map { "`\($0.key)` = \($0.values.joined(separator: ", "))" }.joined(separator: "; ") }
        md += "\n\n| point | device | A bits | ADC bits | software acc. | hardware-aware acc. | energy pJ/image | area mm² | latency µs | TOPS/W |\n"
        md += "|---|---|---|---|---|---|---|---|---|---|\n"
        for r in rows {
            md += String(format: "| %@ | %@ | %d | %d | %.2f %% | %@ | %.4g | %.4g | %.4g | %.1f |\n", r.label, r.device,
                         r.abits, r.adc_bits, 100 * r.software_accuracy,
                         r.hardware_accuracy.map { String(format: "%.2f %%", 100 * $0) } ?? "n/a", r.energy_pj,
                         r.area_mm2, r.latency_ns / 1000, r.tops_per_w)
        }
        if let k = knee {
            md += "\n**Knee: \(k.activationBits)-bit activations** — \(k.explanation) (criterion: docs/cim.md §Knee).\n"
        }
        try folder.write("report.md", Data(md.utf8))
    }

    /// A grid point that could not be gathered: its label and what went wrong.
    public struct SweepError: Error, CustomStringConvertible {
        public let point: String
        public let problem: String
        public var description: String { "sweep point \(point): \(problem)" }
    }
}
