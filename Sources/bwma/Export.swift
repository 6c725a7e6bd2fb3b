import ArgumentParser
import Foundation
import RunConfiguration
import Training

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint's deployable weights (packed binary B, alpha, beta per layer; docs/export.md) as safetensors.")

    @Option(help: "Checkpoint file, with or without .safetensors, or a run folder (its last checkpoint).")
    var checkpoint: String
    @Option(help: "Output file.")
    var out: String
    @Flag(name: .customLong("fold-bn"),
          help: "Fold each batch norm that follows a convolution into it (FP32: into weight and bias; binary: into a per-channel out_scale and out_bias of the crossbar output; docs/export.md).")
    var foldBatchNorm = false
    @Flag(help: "Print one JSON object on stdout (tensor names and shapes).")
    var json = false

    func run() throws {
        let path = Checkpoint.resolve(checkpoint)
        guard !Self.sameFile(out, path) else {
            throw CLIError("--out \(out) is the checkpoint being exported (\(path)); writing it would destroy the "
                + "source: choose another output file")
        }
        let file: SafeTensors.File
        do {
            let c = try Checkpoint.load(path)
            let cfg = try c.config(path: path)
            let model = try c.makeModel(config: cfg, path: path)
            file = try DeployableExport.file(model: model, config: cfg, foldBatchNorm: foldBatchNorm)
            try AtomicFile.write(try SafeTensors.encode(file), to: URL(fileURLWithPath: out))
        } catch { throw CLIError("\(error)") }
        if json {
            let shapes = file.tensors.mapValues { ["dtype": $0.dtype.rawValue, "shape": $0.shape] as [String: Any] }
            let obj: [String: Any] = ["out": out, "checkpoint": path, "tensors": shapes]
            print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
        } else {
            printError("wrote \(out): \(file.tensors.count) tensors from \(path)")
        }
    }

    /// Whether `a` and `b` name one existing file (same device and inode: links and relative paths included).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}
