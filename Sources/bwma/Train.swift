import ArgumentParser
import Data
import Distributed
import Foundation
import Models
import RunConfiguration
import TensorEngine
import Training
import Yams

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model from a YAML config; writes runs/<name>/ (config.yaml, metrics.jsonl, summary.json).")

    @Option(help: "YAML experiment file (see configs/); optional with --resume.")
    var config: String?
    @Option(help: "Continue the run in this folder from its checkpoints/last.safetensors (its config.yaml; --set may change schedule.epochs and runtime.*).")
    var resume: String?
    @Option(name: .customLong("set"), help: "Override a config key: --set optim.lr=0.05 (repeatable).")
    var overrides: [String] = []
    @Flag(help: "Start afresh in a run folder that already holds checkpoints, deleting them and its metrics (without it such a folder is refused: resume it or choose another name).")
    var overwrite = false
    @Flag(help: "Print the summary as one JSON object on stdout.")
    var json = false

    func validate() throws {
        guard config != nil || resume != nil else { throw ValidationError("give --config FILE or --resume RUN_DIR") }
        guard !(overwrite && resume != nil) else { throw ValidationError("--overwrite starts a new run; it cannot be combined with --resume") }
    }

    func run() throws {
        var stop: TrainingStop?
        try withCommunicator { comm in
            do { try train(comm) } catch let s as TrainingStop {
                // Every rank stops at the same step (StepGuard): report once, shut MPI down cleanly.
                if comm.rank == 0 { printError((s.isInterrupt ? "" : "Error: ") + s.description) }
                stop = s
            }
        }
        if let stop { throw ExitCode(stop.isInterrupt ? 130 : 1) }
    }

    func train(_ comm: Communicator) throws {
        let cfg: RunConfig
        let config = self.config ?? "\(resume!)/config.yaml"
        do { cfg = try ConfigLoader.load(path: config, overrides: overrides) } catch {
            throw CLIError("\(error)")
        }
        let checkpoint = try resume.map { try loadResumeCheckpoint($0, cfg) }
        InterruptFlag.install()
        try ConfigConsensus.check(cfg, comm)
        Runtime.configure(cfg.runtime)
        let data = try DataLoading.load(cfg, configPath: config, log: comm.rank == 0 ? printError : { _ in })
        let train = data.train.source
        let inC = cfg.model.in_channels > 0 ? cfg.model.in_channels : train.channels
        guard inC == train.channels else {
            throw CLIError("\(config): model.in_channels is \(inC) but \(cfg.data.dataset) has \(train.channels) channel(s)")
        }
        let classes = cfg.model.num_classes > 0 ? cfg.model.num_classes : train.numClasses
        do {
            try DataLoading.check(inputShape: data.inputShape, classes: classes, against: data, config: cfg, source: config,
                                  ranks: comm.size)
        } catch let e as ConfigError { throw CLIError(e.located(in: config)) }
        let model = try ModelZoo.make(cfg.model.arch, inputShape: data.inputShape,
                                      numClasses: classes, seed: cfg.seed, quant: try cfg.quantPolicy())
        let folder = try runFolder(cfg, comm)
        try folder?.write("config.yaml", Data(try YAMLEncoder().encode(cfg).utf8))
        if comm.rank == 0 { printError(banner(cfg, model: model, data: data, ranks: comm.size, folder: folder)) }
        let layout: Checkpoint.ResumeLayout?
        do {
            layout = try checkpoint.map { try $0.0.resumeLayout(ranks: comm.size, mode: cfg.runtime.resume_batch, path: $0.1) }
        } catch { throw CLIError("\(error)") }
        let trainer = try Trainer(config: cfg, model: model, train: data.train, test: data.test, folder: folder,
                                  communicator: comm, batchSize: layout?.perRankBatch, log: { printError($0) })
        if let (c, path) = checkpoint {
            do { try trainer.resume(from: c, path: path) } catch { throw CLIError("\(error)") }
            let p = trainer.start
            if comm.rank == 0 { printError("resuming from \(path): epoch \(p.epoch + 1), step \(p.stepInEpoch) of the epoch, \(p.globalStep) steps done") }
            if let l = layout, l.storedRanks != comm.size, comm.rank == 0 {
                printError("note: the checkpoint was written by \(l.storedRanks) rank(s) of batch \(l.storedBatch); this job has "
                    + "\(comm.size) rank(s) of batch \(l.perRankBatch) (global batch \(l.perRankBatch * comm.size), "
                    + "runtime.resume_batch: \(cfg.runtime.resume_batch)); the epoch's remaining samples are re-sharded")
            }
        }
        let summary = try trainer.run()
        guard comm.rank == 0 else { return }
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            print(String(decoding: try e.encode(summary), as: UTF8.self))
        } else {
            print(String(format: "test accuracy %.4f after %d epoch(s) (%.0f images/s, %.0f s)", summary.test_accuracy,
                         summary.epochs, summary.images_per_s, summary.wall_s))
        }
    }

    /// Rank 0's run folder: the resumed one, or `runs_dir/name` — refusing to overwrite an earlier run's
    /// checkpoints without `--overwrite`.
    func runFolder(_ cfg: RunConfig, _ comm: Communicator) throws -> RunFolder? {
        guard comm.rank == 0 else { return nil }
        do {
            let folder = try resume.map { try RunFolder(url: URL(fileURLWithPath: $0)) }
                ?? RunFolder(root: cfg.runtime.runs_dir, name: cfg.name)
            if resume == nil, !folder.existingCheckpoints.isEmpty {
                guard overwrite else {
                    throw CLIError("run folder \(folder.url.path) already holds checkpoints of an earlier run "
                        + "(\(folder.existingCheckpoints.joined(separator: ", "))); continue it with `bwma train --resume "
                        + "\(folder.url.path)`, choose another name (--set name=...), or pass --overwrite to replace it")
                }
                try folder.clearPreviousRun()
            }
            return folder
        } catch let e as CLIError { throw e } catch { throw CLIError("\(error)") }
    }

    /// The first log line: network, quantization, data, batch, epochs, ranks, threads, engine, run folder.
    func banner(_ cfg: RunConfig, model: Model, data: DataLoading.Splits, ranks: Int, folder: RunFolder?) -> String {
        let acts = cfg.quant.activations == "fp32" ? "fp32" : "\(cfg.quant.activations) \(cfg.quant.abits)-bit"
        let q = cfg.quant.weights == "fp32" && cfg.quant.activations == "fp32"
            ? "fp32" : "weights \(cfg.quant.weights)\(cfg.quant.per_channel ? " per channel" : ""), activations \(acts)"
        return "bwma train: \(cfg.model.arch) [\(q)] (\(model.parameterCount) parameters) on \(cfg.data.dataset): "
            + "\(data.train.source.count) train / \(data.test.source.count) test images, batch \(cfg.data.batch_size), "
            + "\(cfg.schedule.epochs) epoch(s), \(ranks > 1 ? "\(ranks) ranks x " : "")\(cfg.runtime.threads) thread(s), "
            + "\(EngineContext.summary), OpenBLAS \(BLAS.coreName); run folder \(folder?.url.path ?? "")"
    }

    /// The run folder's last checkpoint, verified (layout, checksum, config hash).
    func loadResumeCheckpoint(_ dir: String, _ cfg: RunConfig) throws -> (Checkpoint, String) {
        let path = Checkpoint.resolve(dir)
        do {
            let c = try Checkpoint.load(path)
            guard c.file.metadata["config_hash"] == (try Checkpoint.configHash(cfg)) else {
                throw FileError.checkpoint(path, "config hash mismatch: --config/--set change keys other than "
                    + "schedule.epochs and runtime.* (checkpoint \(c.file.metadata["config_hash"] ?? "none"), now \(try Checkpoint.configHash(cfg)))")
            }
            return (c, path)
        } catch { throw CLIError("\(error)") }
    }
}
