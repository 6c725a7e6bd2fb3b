import ArgumentParser
import Data
import Foundation
import Models
import RunConfiguration
import Training

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Test accuracy of a checkpoint (RUN_DIR/checkpoints/last[.safetensors], best, or a run folder).")

    @Option(help: "Checkpoint file, with or without .safetensors, or a run folder (its last checkpoint).")
    var checkpoint: String
    @Option(name: .customLong("set"), help: "Override a key of the checkpoint's config, e.g. data.path=… or data.limit_test=1000.")
    var overrides: [String] = []
    @Flag(help: "Print one JSON object on stdout.")
    var json = false
    @Option(help: "Also write every test image's logits (F32 [images, classes]) and label (I32 [images]) to this safetensors file, in test-set order.")
    var logits: String?

    func run() throws {
        let path = Checkpoint.resolve(checkpoint)
        let c: Checkpoint, cfg: RunConfig, model: Model
        do {
            c = try Checkpoint.load(path)
            cfg = try c.config(path: path).applying(overrides, source: path)
            model = try c.makeModel(config: cfg, path: path)
        } catch { throw CLIError("\(error)") }
        Runtime.configure(cfg.runtime)
        // The test split, normalised with the training split's statistics as in training.
        let data: DataLoading.Splits
        do {
            data = try DataLoading.load(cfg, configPath: path, log: printError)
            // The kernels trust the input shape: data of another shape than the checkpoint's model is refused here.
            try DataLoading.check(inputShape: model.inputShape, classes: model.numClasses, against: data, config: cfg,
                                  source: path)
        } catch let e as ConfigError { throw CLIError("checkpoint " + e.located(in: path)) } catch { throw CLIError("\(error)") }
        let r: Evaluator.Result
        do {
            let loader = try DataLoading.testLoader(cfg, test: data.test, normalization: data.train.normalization)
            var all: [Float] = [], labels: [Int32] = []
            let classes = model.numClasses
            r = try Evaluator.evaluate(model, loader: loader, observe: logits == nil ? nil : { l, y, n in
                all.append(contentsOf: UnsafeBufferPointer(start: l, count: n * classes))
                labels.append(contentsOf: UnsafeBufferPointer(start: y, count: n))
            })
            guard r.count > 0 else { throw Evaluator.empty(loader) }
            if let logits {
                var f = SafeTensors.File()
                f.tensors["logits"] = .init(all, shape: [r.count, model.numClasses])
                f.tensors["labels"] = .init(dtype: .i32, shape: [r.count],
                                            data: labels.withUnsafeBufferPointer { Data(buffer: $0) })
                try AtomicFile.write(try SafeTensors.encode(f), to: URL(fileURLWithPath: logits))
            }
        } catch { throw CLIError("\(error)") }
        let p = try c.progress(path: path)
        if json {
            struct Out: Encodable {
                let checkpoint: String, test_accuracy: Double, test_loss: Double, count: Int, epoch: Int, step: Int
                let model: String
            }
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            print(String(decoding: try e.encode(Out(checkpoint: path, test_accuracy: r.accuracy, test_loss: r.loss,
                                                    count: r.count, epoch: p.epoch, step: p.globalStep, model: model.arch)),
                         as: UTF8.self))
        } else {
            print(String(format: "test accuracy %.4f, loss %.4f on %d images (%@ after %d steps)", r.accuracy, r.loss,
                         r.count, path, p.globalStep))
        }
    }
}
