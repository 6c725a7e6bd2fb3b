import ArgumentParser
import Foundation
import Distributed
import Models
import Quantization
import TensorEngine
import Training

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks.", subcommands: [Step.self])

    struct Step: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time training steps (forward, loss, backward, SGD update) on synthetic data.")

        @Option(help: "Model name (\(ModelZoo.names.joined(separator: ", "))).")
        var model = "resnet20"
        @Option(help: "Batch size.")
        var batch = 128
        @Option(help: "Quantization: fp32, bwn (BWN weights + uniform-ste activations) or bwma (BWMA weights and activations).")
        var quant = "fp32"
        @Option(help: "Activation bits (with a quantized --quant).")
        var abits = 4
        @Option(help: "Timed steps.")
        var steps = 20
        @Option(help: "Untimed warm-up steps.")
        var warmup = 3
        @Option(help: "Per-sample input shape CxHxW.")
        var input = "3x32x32"
        @Option(help: "Number of classes.")
        var classes = 10
        @Option(help: "Worker threads.")
        var threads = 1
        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        func validate() throws {
            guard batch >= 1 else { throw ValidationError("--batch must be >= 1, got \(batch)") }
            guard steps >= 1 else { throw ValidationError("--steps must be >= 1, got \(steps)") }
            guard warmup >= 0 else { throw ValidationError("--warmup must be >= 0, got \(warmup)") }
            guard threads >= 1 else { throw ValidationError("--threads must be >= 1, got \(threads)") }
            guard (1...8).contains(abits) else { throw ValidationError("--abits must be in 1...8, got \(abits)") }
            guard ["fp32", "bwn", "bwma"].contains(quant) else {
                throw ValidationError("--quant must be fp32, bwn or bwma, got '\(quant)'")
            }
            _ = try parseShape(input)
        }

        func run() throws {
            try withCommunicator { comm in try measure(comm) }
        }

        func measure(_ comm: Communicator) throws {
            Runtime.configure(threads: threads)
            let policy: QuantPolicy
            switch quant {
            case "bwn": policy = try QuantPolicy(weights: .bwn, activations: .uniformSTE, abits: abits)
            case "bwma": policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: abits)
            default: policy = .fp32
            }
            let m = try ModelZoo.make(model, inputShape: try parseShape(input), numClasses: classes, quant: policy)
            let r = try StepBenchmark.run(model: m, batch: batch, steps: steps, warmup: warmup, quant: quant,
                                          abits: abits, communicator: comm)
            guard comm.rank == 0 else { return }
            if json {
                let e = JSONEncoder()
                e.outputFormatting = [.sortedKeys]
                print(String(decoding: try e.encode(r), as: UTF8.self))
            } else {
                let q = r.quant == "fp32" ? "fp32" : "\(r.quant) W1A\(r.abits)"
                print(String(format: "%@ [%@] batch %d input %@ threads %d: %.1f images/s, %.1f ms/step, peak RSS %.0f MB (OpenBLAS %@)",
                             r.model, q, r.batch, r.input, r.threads, r.images_per_s, r.ms_per_step, r.peak_rss_mb,
                             r.blas_core))
            }
        }
    }
}

/// Parses "CxHxW".
func parseShape(_ s: String) throws -> [Int] {
    let parts = s.lowercased().split(separator: "x").map { Int($0) }
    guard parts.count == 3, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
        throw ValidationError("--input must look like 3x32x32 (channels x height x width), got '\(s)'")
    }
    return parts.map { $0! }
}
