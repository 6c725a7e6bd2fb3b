import ArgumentParser
import Foundation
import RunConfiguration
import Sweeps
import Training

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train every point of a config grid (MPI groups in parallel) and compare accuracy with CIM cost.",
        discussion: """
            Example: launch/mpirun 4 sweep --config configs/fmnist-sweep.yaml --grid quant.abits=1,2,3,4,6,8 \
            --eval-grid cim.device=sram,rram. The ranks split into min(points, ranks) groups; each group trains \
            its points in turn, data-parallel. --eval-grid settings only change the hardware evaluation of each \
            trained point (no extra training). Writes runs/<name>/<point>/ per point and runs/<name>/sweep.csv, \
            accuracy_vs_energy.svg, report.md (with the knee, docs/cim.md).
            """)

    @Option(help: "YAML experiment file (see configs/).")
    var config: String
    @Option(help: "A training axis key.path=v1,v2,... (repeatable; points are the cartesian product).")
    var grid: [String] = []
    @Option(help: "A hardware-evaluation axis, e.g. cim.device=sram,rram (repeatable; cim.* keys).")
    var evalGrid: [String] = []
    @Option(name: .customLong("set"), help: "Override a config key for every point (repeatable).")
    var overrides: [String] = []
    @Flag(help: "Print the rows and the knee as one JSON object on stdout.")
    var json = false

    func validate() throws {
        guard !grid.isEmpty else { throw ValidationError("give at least one --grid key.path=v1,v2,...") }
        for e in evalGrid where !e.hasPrefix("cim.") {
            throw ValidationError("--eval-grid \(e): only cim.* keys change the hardware evaluation; put other keys in --grid")
        }
    }

    func run() throws {
        try withCommunicator { world in
            let plan: SweepPlan, evaluation: SweepPlan?
            do {
                plan = try SweepPlan(grid: grid)
                evaluation = evalGrid.isEmpty ? nil : try SweepPlan(grid: evalGrid)
            } catch { throw CLIError("\(error)") }
            do {
                let runtime = try ConfigLoader.load(path: config, overrides: overrides).runtime
                Runtime.configure(runtime)
            } catch {
                throw CLIError("\(error)")
            }
            let outcome: TrainingSweep.Outcome
            do {
                outcome = try TrainingSweep.run(config: config, overrides: overrides, grid: plan, evaluation: evaluation,
                                                world: world, log: { printError($0) })
            } catch let e as ConfigError { throw CLIError("\(config): \(e)") }
            guard world.rank == 0 else { return }
            if json {
                struct Out: Encodable { let rows: [TrainingSweep.Row]; let knee_abits: Int?; let knee: String?; let folder: String }
                let e = JSONEncoder()
                e.outputFormatting = [.sortedKeys]
                print(String(decoding: try e.encode(Out(rows: outcome.rows, knee_abits: outcome.knee?.activationBits,
                                                        knee: outcome.knee?.explanation, folder: outcome.folder)),
                             as: UTF8.self))
            } else {
                print(TrainingSweep.csv(outcome.rows), terminator: "")
                if let k = outcome.knee { print("knee: \(k.activationBits)-bit activations (\(k.explanation))") }
                print("written: \(outcome.folder)/sweep.csv, report.md, accuracy_vs_{energy,area,latency}.svg; "
                      + "the sweep on one page: \(outcome.folder)/report.html")
            }
        }
    }
}
