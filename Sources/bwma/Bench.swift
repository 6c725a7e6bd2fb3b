import ArgumentParser
import Benchmarks
import CIMSimulator
import Distributed
import Foundation
import Models
import Quantization
import TensorEngine
import Training

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks.", subcommands: [Step.self, Allreduce.self, DataPipeline.self])

    struct Allreduce: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Allreduce bandwidth per message size through the Communicator and GradientSync (run under mpirun).")

        @Option(help: "Message sizes in bytes, with K/M suffixes (powers of 1024).")
        var sizes = "1K,64K,1M,4M"
        @Option(help: "Timed iterations per size.")
        var iterations = 50
        @Option(help: "GradientSync bucket cap in MiB.")
        var bucketMb: Double = 25
        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        func validate() throws {
            _ = try parseSizes(sizes)
            guard iterations >= 1 else { throw ValidationError("--iterations must be >= 1, got \(iterations)") }
            guard bucketMb > 0 else { throw ValidationError("--bucket-mb must be > 0, got \(bucketMb)") }
        }

        func run() throws {
            try withCommunicator { comm in
                let rows = try AllreduceBenchmark.run(communicator: comm, sizes: try parseSizes(sizes),
                                                      iterations: iterations,
                                                      bucketBytes: Int(bucketMb * 1_048_576))
                guard comm.rank == 0 else { return }
                if json {
                    struct Out: Encodable { let ranks: Int; let iterations: Int; let rows: [AllreduceBenchmark.Row] }
                    let e = JSONEncoder()
                    e.outputFormatting = [.sortedKeys]
                    print(String(decoding: try e.encode(Out(ranks: comm.size, iterations: iterations, rows: rows)),
                                 as: UTF8.self))
                } else {
                    if comm.size == 1 { printError("note: a world of one (start under mpirun for real traffic)") }
                    for r in rows {
                        print(String(format: "%10d B  communicator %8.3f ms %7.2f GB/s   gradient sync %8.3f ms %7.2f GB/s (%.2fx)",
                                     r.bytes, r.communicator_ms, r.communicator_gbps, r.gradient_sync_ms,
                                     r.gradient_sync_gbps, r.sync_vs_communicator))
                    }
                }
            }
        }
    }

    struct Step: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time training steps (forward, loss, backward, SGD update) on synthetic data.")

        @Option(help: "Model name (\(ModelZoo.names.joined(separator: ", "))).")
        var model = "resnet20"
        @Option(help: "Batch size.")
        var batch = 128
        @Option(help: "Quantization: fp32, bwn (BWN weights + uniform-ste activations) or bwma (BWMA weights and activations).")
        var quant = BenchQuant.fp32
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
        @Option(help: "Convolution backend: \(Backend.allCases.map(\.rawValue).joined(separator: ", ")).")
        var backend: Backend = .auto
        @Option(help: "Arithmetic: \(Precision.allCases.map(\.rawValue).joined(separator: ", ")).")
        var precision: Precision = .fp32
        @Option(help: "fp32 3x3 convolutions on oneDNN: auto (Winograd where it outruns the direct kernels) or direct.")
        var convAlgorithm: ConvAlgorithm = .auto
        @Flag(help: "Under mpirun: allreduce all gradients after backward instead of overlapping it.")
        var noOverlap = false
        @Option(help: "Under mpirun: gradient bucket cap in MiB.")
        var bucketMb = 25.0
        @Option(help: "Under mpirun: cap of the first gradient bucket in MiB (PyTorch DDP's 1; 0 = the same as --bucket-mb).")
        var firstBucketMb = 1.0
        @Option(help: "CIM-aware training: every step's forward through the simulated SRAM chip with an ADC of this many bits (0 = off; needs a quantized --quant).")
        var cimAdcBits = 0
        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        func validate() throws {
            if cimAdcBits != 0 {
                guard quant != .fp32 else { throw ValidationError("--cim-adc-bits needs --quant bwn or bwma (binary weights)") }
                _ = try cimConfig()
            }
            guard batch >= 1 else { throw ValidationError("--batch must be >= 1, got \(batch)") }
            guard bucketMb > 0, firstBucketMb >= 0 else {
                throw ValidationError("--bucket-mb must be > 0 and --first-bucket-mb >= 0")
            }
            guard steps >= 1 else { throw ValidationError("--steps must be >= 1, got \(steps)") }
            guard warmup >= 0 else { throw ValidationError("--warmup must be >= 0, got \(warmup)") }
            guard threads >= 1 else { throw ValidationError("--threads must be >= 1, got \(threads)") }
            guard (1...8).contains(abits) else { throw ValidationError("--abits must be in 1...8, got \(abits)") }
            _ = try parseShape(input)
        }

        func run() throws {
            try withCommunicator { comm in try measure(comm) }
        }

        /// The chip of --cim-adc-bits (nil when off), validated.
        func cimConfig() throws -> CIMConfig? {
            guard cimAdcBits != 0 else { return nil }
            var c = CIMConfig()
            c.adcBits = cimAdcBits
            do { try c.validate() } catch { throw ValidationError("--cim-adc-bits: \(error)") }
            return c
        }

        func measure(_ comm: Communicator) throws {
            Runtime.configure(threads: threads, backend: backend.rawValue, precision: precision.rawValue,
                              convAlgorithm: convAlgorithm.rawValue)
            let m = try ModelZoo.make(model, inputShape: try parseShape(input), numClasses: classes,
                                      quant: try quant.policy(abits: abits))
            let r = try StepBenchmark.run(model: m, batch: batch, steps: steps, warmup: warmup, quant: quant.rawValue,
                                          abits: abits, communicator: comm, bucketBytes: Int(bucketMb * 1_048_576),
                                          firstBucketBytes: firstBucketMb > 0 ? Int(firstBucketMb * 1_048_576) : nil,
                                          overlap: !noOverlap, cim: try cimConfig())
            guard comm.rank == 0 else { return }
            if json {
                let e = JSONEncoder()
                e.outputFormatting = [.sortedKeys]
                print(String(decoding: try e.encode(r), as: UTF8.self))
            } else {
                let q = (r.quant == "fp32" ? "fp32" : "\(r.quant) W1A\(r.abits)")
                    + (r.cim_adc_bits > 0 ? ", CIM-aware \(r.cim_adc_bits)-bit ADC (\(r.cim_kernel))" : "")
                print(String(format: "%@ [%@] batch %d input %@ threads %d: %.1f images/s, %.1f ms/step, peak RSS %.0f MB (%@, OpenBLAS %@)",
                             r.model, q, r.batch, r.input, r.threads, r.images_per_s, r.ms_per_step, r.peak_rss_mb,
                             r.engine, r.blas_core))
            }
        }
    }
}

/// Parses "1K,64K,1M" (bytes; K = 1024, M = 1024²).
func parseSizes(_ s: String) throws -> [Int] {
    try s.split(separator: ",").map { part in
        let t = part.trimmingCharacters(in: .whitespaces).uppercased()
        let mult = t.hasSuffix("K") ? 1024 : t.hasSuffix("M") ? 1 << 20 : 1
        guard let v = Int(mult == 1 ? t : String(t.dropLast())), v > 0 else {
            throw ValidationError("--sizes must look like 1K,64K,1M,4M, got '\(s)'")
        }
        return v * mult
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

extension Bench {
    struct DataPipeline: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "data",
            abstract: "JPEG pipeline throughput on one core: full decode vs decode + RandomResizedCrop + flip.")

        @Option(help: "An ImageFolder tree (ROOT/CLASS/*.jpg).")
        var folder: String
        @Option(help: "Passes over the files per variant (0: only time the listing).")
        var rounds = 20
        @Option(help: "Output side of the crops.")
        var size = 224
        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        func validate() throws {
            guard rounds >= 0 else { throw ValidationError("--rounds must be >= 0, got \(rounds)") }
            guard (8...1024).contains(size) else { throw ValidationError("--size must be in 8...1024, got \(size)") }
        }

        func run() throws {
            let r: DataBenchmark.Result
            do { r = try DataBenchmark.run(folder: folder, rounds: rounds, size: size) } catch {
                throw CLIError("--folder: \(error)")
            }
            if json {
                let e = JSONEncoder()
                e.outputFormatting = [.sortedKeys]
                print(String(decoding: try e.encode(r), as: UTF8.self))
                return
            }
            print(String(format: "%d files listed in %.3f s; %d rounds, 1 thread", r.files, r.list_s, r.rounds))
            for row in r.rows {
                let name = row.variant.padding(toLength: 36, withPad: " ", startingAt: 0)
                print(name + String(format: " %8.1f img/s  %5.2fx full decode", row.images_per_s, row.vs_full_decode))
            }
        }
    }
}

extension Backend: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension ConvAlgorithm: ExpressibleByArgument {}
