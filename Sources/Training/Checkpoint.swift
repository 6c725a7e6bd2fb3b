import Data
import Foundation
import Models
import Optim
import RunConfiguration
import TensorEngine
import Yams

/// Where a run stands: what a resumed run needs besides the tensors. Epoch and step locate the sampler (the data
/// order of an epoch is a pure function of seed and epoch, `DistributedSampler.indices(epoch:)`); the sums let the
/// interrupted epoch's metrics line come out as if it had not been interrupted.
public struct TrainingProgress: Codable, Sendable, Equatable {
    /// The epoch in progress (0-based); `stepInEpoch` of its steps are done.
    public var epoch = 0
    public var stepInEpoch = 0
    /// Samples of the epoch's order consumed by the whole job (steps·batch·ranks, summed over changes of the rank
    /// count); nil in checkpoints written before it existed (then stepInEpoch·batch·ranks of the writing job).
    public var epochSamples: Int?
    /// Optimiser steps done in the whole run (the LR schedule's position).
    public var globalStep = 0
    /// The epoch's partial sums over all ranks: loss·images, correct, images, rank 0's comm wait and loop seconds.
    public var lossSum = 0.0, correct = 0.0, seen = 0.0, wait = 0.0, epochSeconds = 0.0
    /// Whole-run training images and training-loop seconds so far.
    public var trainImages = 0.0, trainSeconds = 0.0
    /// Test accuracy after the last finished epoch, and the best so far (-1: none yet).
    public var testAccuracy = 0.0, bestTestAccuracy = -1.0

    public init() {}
}

/// A training checkpoint in the safetensors layout (docs/usage.md, "Checkpoints"):
///
/// - `params/<name>` F32, every trainable parameter (the FP32 latent weights) in its own shape;
/// - `buffers/<name>` F32, rank 0's buffers (batch-norm running statistics, BWMA activation RMS);
/// - `rank_buffers` F32 [ranks, bufferCount], every rank's buffer arena (multi-rank runs: without synchronised
///   batch norm each rank's running statistics differ);
/// - `optimizer/<state>` F32 [parameterCount], the optimiser's state arrays in arena order (SGD `momentum`, Adam
///   `m`, `v`);
/// - metadata: `format` (`bwma-checkpoint`), `version`, `config` (resolved YAML), `config_hash`, `progress` (JSON
///   `TrainingProgress`), `optimizer`, `optimizer_steps`, `sampler` (JSON), `rng`, `ranks`, `arch`, `checksum`
///   (FNV-1a 64 of the tensor section) and `metadata_checksum` (of the other metadata, `metadataChecksum`).
public struct Checkpoint: Sendable {
    public static let format = "bwma-checkpoint"
    public static let version = "1"

    public var file: SafeTensors.File


    public init(file: SafeTensors.File) { self.file = file }

    // MARK: - Capture and write

    /// Captures this rank's model and optimiser. `rankBuffers` is every rank's buffer arena, rank after rank (nil
    /// for one rank).
    /// `batch` is the per-rank batch the job ran with (default `data.batch_size`; another after a resume on a
    /// different number of ranks).
    public static func capture(model: Model, optimizer: Optimizer, config: RunConfig, progress: TrainingProgress,
                               rankBuffers: [Float]?, ranks: Int, batch: Int? = nil) throws -> Checkpoint {
        let store = model.store
        var f = SafeTensors.File()
        for p in store.parameters { f.tensors["params/\(p.name)"] = .init(p.value, count: p.count, shape: p.shape) }
        for b in store.buffers { f.tensors["buffers/\(b.name)"] = .init(b.value, count: b.count, shape: b.shape) }
        for (name, pointer) in optimizer.state {
            f.tensors["optimizer/\(name)"] = .init(pointer, count: store.parameterCount, shape: [store.parameterCount])
        }
        if let rb = rankBuffers, ranks > 1, store.bufferCount > 0 {
            f.tensors["rank_buffers"] = .init(rb, shape: [ranks, store.bufferCount])
        }
        let sampler: [String: Any] = ["seed": config.seed, "epoch": progress.epoch, "step_in_epoch": progress.stepInEpoch,
                                      "batch_size": batch ?? config.data.batch_size, "ranks": ranks]
        f.metadata = [
            "format": format, "version": version,
            "config": try YAMLEncoder().encode(config),
            "config_hash": try configHash(config),
            "progress": String(decoding: try JSONEncoder.sorted.encode(progress), as: UTF8.self),
            "optimizer": config.optim.name.lowercased(),
            "optimizer_steps": "\(optimizer.stepCount)",
            "sampler": String(decoding: try JSONSerialization.data(withJSONObject: sampler, options: [.sortedKeys]),
                              as: UTF8.self),
            "rng": "initialisation: RNG(seed, stream 1) at build; shuffles: RNG(seed + epoch, stream 1000); "
                + "the training loop draws no other random numbers",
            "ranks": "\(ranks)", "arch": model.arch,
            "input_shape": model.inputShape.map(String.init).joined(separator: "x"), "num_classes": "\(model.numClasses)",
        ]
        return Checkpoint(file: f)
    }

    /// The encoded file with its checksums (tensor section, metadata).
    public func encoded() throws -> Data {
        var f = file
        f.metadata["checksum"] = nil
        f.metadata["metadata_checksum"] = Self.metadataChecksum(f.metadata)
        let body = try SafeTensors.encode(f)
        f.metadata["checksum"] = SafeTensors.checksum(SafeTensors.dataSection(of: body))
        return try SafeTensors.encode(f)
    }

    /// Writes atomically to `url` (the previous file stays intact if anything fails).
    public func write(to url: URL) throws {
        try AtomicFile.write(try encoded(), to: url)
    }

    // MARK: - Load and verify

    /// Reads `path` (a file; or a name that gains `.safetensors`; or a run folder, meaning its
    /// `checkpoints/last.safetensors`), verifying layout, format, checksum and that the config parses.
    public static func load(_ path: String) throws -> Checkpoint {
        let resolved = resolve(path)
        let bytes: Data
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: resolved)) } catch {
            throw FileError.checkpoint(resolved, "cannot read (\(AtomicFile.reason(error)))")
        }
        let file: SafeTensors.File
        do { file = try SafeTensors.decode(bytes, path: resolved) } catch let e as FileError {
            throw FileError.checkpoint(resolved, e.problem)
        }
        guard file.metadata["format"] == format else {
            throw FileError.checkpoint(resolved, "not a BWMA checkpoint (metadata format is '\(file.metadata["format"] ?? "missing")', expected '\(format)')")
        }
        guard file.metadata["version"] == version else {
            throw FileError.checkpoint(resolved, "checkpoint version \(file.metadata["version"] ?? "missing") is not supported (expected \(version))")
        }
        let sum = SafeTensors.checksum(SafeTensors.dataSection(of: bytes))
        guard let stored = file.metadata["checksum"] else { throw FileError.checkpoint(resolved, "no checksum in the metadata") }
        guard stored == sum else {
            throw FileError.checkpoint(resolved, "checksum mismatch (stored \(stored), computed \(sum)): the file is corrupted")
        }
        // Checkpoints written before the metadata checksum existed have none; a present one must match.
        if let storedMeta = file.metadata["metadata_checksum"], storedMeta != metadataChecksum(file.metadata) {
            throw FileError.checkpoint(resolved, "metadata checksum mismatch (stored \(storedMeta), computed "
                + "\(metadataChecksum(file.metadata))): the metadata (config, shapes, ranks, progress) was changed or corrupted")
        }
        let c = Checkpoint(file: file)
        _ = try c.config(path: resolved)
        _ = try c.progress(path: resolved)
        return c
    }

    /// FNV-1a 64 of the metadata: every key but the two checksums, in sorted order, as `key NUL value NUL`.
    public static func metadataChecksum(_ metadata: [String: String]) -> String {
        var bytes = Data()
        for k in metadata.keys.sorted() where k != "checksum" && k != "metadata_checksum" {
            bytes.append(contentsOf: Array(k.utf8) + [0] + Array(metadata[k]!.utf8) + [0])
        }
        return SafeTensors.checksum(bytes)
    }

    /// `path` as a file: itself if it exists, else with `.safetensors`, else (a run folder) its last checkpoint.
    public static func resolve(_ path: String) -> String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            return isDir.boolValue ? "\(path)/checkpoints/last.safetensors" : path
        }
        if FileManager.default.fileExists(atPath: path + ".safetensors") { return path + ".safetensors" }
        return path
    }

    /// The run's resolved configuration.
    public func config(path: String = "") throws -> RunConfig {
        guard let text = file.metadata["config"] else { throw FileError.checkpoint(path, "no config in the metadata") }
        if let p = YAMLLimits.problem(text) { throw FileError.checkpoint(path, "the stored config is refused: \(p)") }
        do { return try YAMLDecoder().decode(RunConfig.self, from: text) } catch {
            throw FileError.checkpoint(path, "the stored config does not parse (\(error))")
        }
    }

    public func progress(path: String = "") throws -> TrainingProgress {
        guard let text = file.metadata["progress"],
              let p = try? JSONDecoder().decode(TrainingProgress.self, from: Data(text.utf8)) else {
            throw FileError.checkpoint(path, "missing or unreadable progress in the metadata")
        }
        return p
    }

    /// Builds the checkpoint's model (architecture, input shape, classes and quantization of its config) and
    /// restores its parameters and buffers into it.
    public func makeModel(config: RunConfig, path: String = "") throws -> Model {
        let shape = (file.metadata["input_shape"] ?? "").split(separator: "x").compactMap { Int($0) }
        guard shape.count == 3, let classes = Int(file.metadata["num_classes"] ?? "") else {
            throw FileError.checkpoint(path, "input_shape or num_classes missing in the metadata")
        }
        // Checked before anything is allocated: the model's buffers scale with both.
        if let problem = DataLimits.shapeProblem(shape) {
            throw FileError.checkpoint(path, "metadata input_shape \(file.metadata["input_shape"] ?? ""): \(problem)")
        }
        guard (1...DataLimits.maxClasses).contains(classes) else {
            throw FileError.checkpoint(path, "metadata num_classes \(classes) is outside 1...\(DataLimits.maxClasses)")
        }
        let model = try ModelZoo.make(config.model.arch, inputShape: shape, numClasses: classes, seed: config.seed,
                                      quant: try config.quantPolicy())
        try restore(model: model, optimizer: nil, path: path)
        return model
    }

    // MARK: - Restore

    /// Copies parameters and buffers into `model` (this rank's buffers when the checkpoint has every rank's and the
    /// world size matches) and the optimiser's state into `optimizer`. Names and shapes must match exactly.
    public func restore(model: Model, optimizer: Optimizer?, rank: Int = 0, path: String = "") throws {
        let store = model.store
        func take(_ key: String, _ p: Parameter) throws {
            guard let t = file.tensors[key] else { throw FileError.checkpoint(path, "tensor '\(key)' missing (a different model?)") }
            guard t.dtype == .f32, t.shape == p.shape else {
                throw FileError.checkpoint(path, "tensor '\(key)' has shape \(t.shape) \(t.dtype.rawValue), the model needs \(p.shape) F32")
            }
            t.copyFloats(into: p.value, count: p.count)
        }
        let expected = Set(store.parameters.map { "params/\($0.name)" } + store.buffers.map { "buffers/\($0.name)" })
        let present = Set(file.tensors.keys.filter { $0.hasPrefix("params/") || $0.hasPrefix("buffers/") })
        if let extra = present.subtracting(expected).sorted().first {
            throw FileError.checkpoint(path, "tensor '\(extra)' is not in the model \(model.arch) (a different model?)")
        }
        for p in store.parameters { try take("params/\(p.name)", p) }
        for b in store.buffers { try take("buffers/\(b.name)", b) }
        // Every rank's own statistics where the writing job had this rank; rank 0's (`buffers/`) for new ranks.
        if let rb = file.tensors["rank_buffers"], rb.shape.count == 2, rb.shape[1] == store.bufferCount, rank > 0,
           rank < rb.shape[0] {
            rb.data.withUnsafeBytes { raw in
                let src = raw.bindMemory(to: Float.self).baseAddress! + rank * store.bufferCount
                store.bufferValues.update(from: src, count: store.bufferCount)
            }
        }
        guard let optimizer else { return }
        let name = file.metadata["optimizer"] ?? ""
        for (key, pointer) in optimizer.state {
            guard let t = file.tensors["optimizer/\(key)"], t.dtype == .f32, t.shape == [store.parameterCount] else {
                throw FileError.checkpoint(path, "optimizer state '\(key)' missing or of the wrong size (the checkpoint's optimizer is '\(name)')")
            }
            t.copyFloats(into: pointer, count: store.parameterCount)
        }
        guard let steps = Int(file.metadata["optimizer_steps"] ?? "") else {
            throw FileError.checkpoint(path, "optimizer_steps missing in the metadata")
        }
        optimizer.restore(stepCount: steps)
    }

    /// Refuses to restore into a model of another input shape or class count than the checkpoint's (a resumed
    /// run whose data changed shape under the same config).
    public func checkShape(of model: Model, path: String = "") throws {
        let shape = model.inputShape.map(String.init).joined(separator: "x")
        guard file.metadata["input_shape"] == shape, file.metadata["num_classes"] == "\(model.numClasses)" else {
            throw FileError.checkpoint(path, "the checkpoint's model takes \(file.metadata["input_shape"] ?? "?") inputs "
                + "and \(file.metadata["num_classes"] ?? "?") classes, the data now gives \(shape) and \(model.numClasses)")
        }
    }

    // MARK: - Config identity

    /// A hash of what determines the trained weights: the resolved config without `schedule.epochs` (a resumed run
    /// may be extended), `runtime` (threads, folders and logging do not change the numbers) and
    /// `distributed.timeout_s`.
    public static func configHash(_ config: RunConfig) throws -> String {
        var c = config
        c.schedule.epochs = 0
        c.runtime = RunConfig.RuntimeConfig()
        c.distributed.timeout_s = RunConfig.DistributedConfig().timeout_s
        return String(format: "%016llx", try ConfigConsensus.fingerprint(c))
    }
}
