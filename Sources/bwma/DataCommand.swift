import ArgumentParser
import Data
import Foundation
import Training

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Dataset tools.", subcommands: [Pack.self])

    struct Pack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a split as a packed file (fixed-size 8-bit records + labels, memory-mapped when read) for fast repeated epochs.",
            discussion: """
                Image folders are resized (shorter side to --size) and center-cropped to --size x --size; fixed-size \
                datasets are stored as they are. Train on the result with data.dataset: packed and data.path set to \
                the folder holding train.bwpack and test.bwpack.
                """)

        @Option(help: "Dataset kind (\(DataSpec.Kind.allCases.map(\.rawValue).filter { $0 != "packed" }.joined(separator: ", "))).")
        var dataset: String
        @Option(help: "Dataset folder (as data.path in a config).")
        var path: String
        @Option(help: "train or test.")
        var split = "train"
        @Option(help: "Image folders: output side in pixels.")
        var size = 64
        @Option(help: "Output file (conventionally <folder>/train.bwpack or test.bwpack).")
        var out: String
        @Option(help: "Decoding threads.")
        var workers = 2
        @Option(help: "error or skip: what an unreadable image does.")
        var badSamples = "error"

        func validate() throws {
            guard let k = DataSpec.Kind(rawValue: dataset), k != .packed else {
                throw ValidationError("--dataset must be one of \(DataSpec.Kind.allCases.map(\.rawValue).filter { $0 != "packed" }.joined(separator: ", ")), got '\(dataset)'")
            }
            guard DataSpec.Split(rawValue: split) != nil else { throw ValidationError("--split must be train or test, got '\(split)'") }
            guard (8...1024).contains(size) else { throw ValidationError("--size must be in 8...1024, got \(size)") }
            guard (1...64).contains(workers) else { throw ValidationError("--workers must be in 1...64, got \(workers)") }
            guard ["error", "skip"].contains(badSamples) else { throw ValidationError("--bad-samples must be error or skip") }
        }

        func run() throws {
            var spec = DataSpec(kind: DataSpec.Kind(rawValue: dataset)!, path: path)
            spec.strict = badSamples == "error"
            let loaded: LoadedSplit
            do { loaded = try DatasetCatalog.load(spec, split: DataSpec.Split(rawValue: split)!) } catch {
                throw CLIError("--path: \(error)")
            }
            let aug: Augmentation = loaded.source is ImageFolderDataset ? .resizeCenterCrop(resize: size, crop: size) : .none
            let start = Date()
            var lastReport = start
            let r: (written: Int, skipped: [String])
            do {
                r = try PackedDataset.write(loaded.source, augmentation: aug, normalization: loaded.normalization,
                                            to: out, workers: workers, skipBadSamples: badSamples == "skip") { done in
                    if Date().timeIntervalSince(lastReport) > 5 {
                        lastReport = Date()
                        printError("  \(done) / \(loaded.source.count)")
                    }
                }
            } catch { throw CLIError("\(error)") }
            let shape = try loaded.source.outputShape(aug)
            printError(String(format: "wrote %@: %d records of %@ (%.1f s)%@", out, r.written,
                              shape.map(String.init).joined(separator: "x"), Date().timeIntervalSince(start),
                              r.skipped.isEmpty ? "" : ", skipped \(r.skipped.count) unreadable: \(r.skipped.prefix(5).joined(separator: ", "))"))
        }
    }
}
