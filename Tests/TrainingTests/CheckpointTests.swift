import Foundation
import Models
import Plots
import Quantization
import RunConfiguration
import TensorEngine
import Training
import XCTest

final class SafeTensorsTests: XCTestCase {
    func testRoundTripAndLayout() throws {
        let f = SafeTensors.File(tensors: ["b": .init([1, 2, 3], shape: [3]), "a": .init(dtype: .u8, shape: [2, 1], data: Data([7, 9]))],
                                 metadata: ["k": "v"])
        let bytes = try SafeTensors.encode(f)
        let n = bytes.prefix(8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) }
        XCTAssertEqual(n % 8, 0, "header padded to 8 bytes")
        XCTAssertEqual(bytes.count, 8 + n + 2 + 12)
        XCTAssertEqual(Array(bytes.suffix(14).prefix(2)), [7, 9], "tensors in name order: a before b")
        XCTAssertEqual(try SafeTensors.decode(bytes, path: "x"), f)
    }

    func testMalformedFilesNameTheProblem() throws {
        let bytes = try SafeTensors.encode(.init(tensors: ["w": .init([1, 2], shape: [2])]))
        func problem(_ d: Data) -> String {
            do { _ = try SafeTensors.decode(d, path: "f.st"); return "accepted" } catch { return "\(error)" }
        }
        XCTAssert(problem(Data([1, 2])).contains("shorter than"))
        XCTAssert(problem(bytes.dropLast(1)).contains("truncated"))
        XCTAssert(problem(bytes + Data([0])).contains("unexpected bytes"))
        var badJSON = bytes
        badJSON[9] = UInt8(ascii: "#")
        XCTAssert(problem(badJSON).hasPrefix("f.st: the header is not valid JSON"), problem(badJSON))
        // A shape that does not match the byte range.
        let header = #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        var d = Data(); var len = UInt64(header.utf8.count); withUnsafeBytes(of: &len) { d.append(contentsOf: $0) }
        d.append(Data(header.utf8)); d.append(Data(count: 8))
        XCTAssert(problem(d).contains("do not hold shape [3]"), problem(d))
    }

    func testChecksumSeesEveryByte() {
        let a = Data((0..<37).map { UInt8($0) })
        var b = a
        b[36] ^= 1
        XCTAssertNotEqual(SafeTensors.checksum(a), SafeTensors.checksum(b))
        XCTAssertEqual(SafeTensors.checksum(a), SafeTensors.checksum(Data(a)))
    }
}

final class CheckpointTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("bwma-ckpt-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func bwmaModel(seed: UInt64) throws -> Model {
        try ModelZoo.make("lenet5", inputShape: [1, 28, 28], numClasses: 10, seed: seed,
                          quant: try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4))
    }

    /// Everything captured comes back: parameters, buffers, optimiser state and step count, progress.
    func testCaptureWriteLoadRestore() throws {
        var cfg = RunConfig()
        cfg.optim.name = "adam"
        let a = try bwmaModel(seed: 1), opt = try OptimizerFactory.make(cfg.optim, store: a.store)
        for i in 0..<a.store.parameterCount { a.store.grads[i] = Float(i % 7) - 3 }
        opt.step(lr: 0.01); opt.step(lr: 0.01)
        for i in 0..<a.store.bufferCount { a.store.bufferValues[i] = Float(i) + 0.5 }
        var p = TrainingProgress()
        p.epoch = 2; p.stepInEpoch = 5; p.globalStep = 41; p.lossSum = 1.25
        let url = dir.appendingPathComponent("c.safetensors")
        try Checkpoint.capture(model: a, optimizer: opt, config: cfg, progress: p, rankBuffers: nil, ranks: 1).write(to: url)
        let c = try Checkpoint.load(url.path)
        XCTAssertEqual(try c.progress(), p)
        XCTAssertEqual(try c.config(), cfg)
        let b = try bwmaModel(seed: 2), opt2 = try OptimizerFactory.make(cfg.optim, store: b.store)
        XCTAssertNotEqual(b.store.parameters[0].values, a.store.parameters[0].values)
        try c.restore(model: b, optimizer: opt2)
        for (x, y) in zip(a.store.parameters, b.store.parameters) { XCTAssertEqual(x.values, y.values, x.name) }
        for (x, y) in zip(a.store.buffers, b.store.buffers) { XCTAssertEqual(x.values, y.values, x.name) }
        XCTAssertEqual(opt2.stepCount, 2)
        for (k, v) in opt.state {
            XCTAssertEqual(Array(UnsafeBufferPointer(start: v, count: 100)), Array(UnsafeBufferPointer(start: opt2.state[k]!, count: 100)), k)
        }
        // A different architecture is refused by name.
        let other = try ModelZoo.make("smallcnn", inputShape: [1, 28, 28], numClasses: 10, seed: 0)
        XCTAssertThrowsError(try c.restore(model: other, optimizer: nil)) { XCTAssert("\($0)".contains("a different model")) }
        // The config hash ignores epochs and runtime, not the numbers.
        var longer = cfg; longer.schedule.epochs = 9; longer.runtime.threads = 2
        XCTAssertEqual(try Checkpoint.configHash(longer), try Checkpoint.configHash(cfg))
        var other2 = cfg; other2.optim.lr = 0.2
        XCTAssertNotEqual(try Checkpoint.configHash(other2), try Checkpoint.configHash(cfg))
    }

    /// A failed write (the target folder vanished) throws, naming the file, and leaves the old file alone.
    func testAtomicWriteKeepsTheOldFile() throws {
        let url = dir.appendingPathComponent("f")
        try AtomicFile.write(Data("old".utf8), to: url)
        XCTAssertThrowsError(try AtomicFile.write(Data("new".utf8), to: dir.appendingPathComponent("missing/f"))) {
            XCTAssert("\($0)".contains("missing/f"), "\($0)")
        }
        try AtomicFile.write(Data("new".utf8), to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "new")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["f"], "no temporary files left")
    }

    /// The exported B, alpha, beta rebuild exactly the binarized weights the model's forward uses.
    func testExportRebuildsTheBinarizedWeights() throws {
        var cfg = RunConfig()
        cfg.quant.weights = "bwma"; cfg.quant.activations = "bwma"
        let m = try bwmaModel(seed: 3)
        _ = m.forward(Tensor(shape: [2, 1, 28, 28]), training: false)
        let f = try SafeTensors.decode(try SafeTensors.encode(try DeployableExport.file(model: m, config: cfg)), path: "x")
        let conv2 = m.leaves.compactMap { $0 as? Conv2d }.first { $0.weight.name == "conv2.weight" }!
        let q = conv2.quantization!
        let k = 6 * 25, b = f.tensors["conv2.B"]!, alpha = f.tensors["conv2.alpha"]!.floats, beta = f.tensors["conv2.beta"]!.floats
        XCTAssertEqual(b.shape, [16, (k + 7) / 8])
        var wq = [Float](repeating: 0, count: 16 * k), scratch = wq, groups: [WeightBinarizer.Group] = []
        q.binarizer!.binarize(latent: conv2.weight.value, count: 16 * k, outChannels: 16, into: &wq, groups: &groups,
                              scratch: &scratch)
        for c in 0..<16 {
            var plus = 0
            for j in 0..<k {
                let bit = (b.data[c * b.shape[1] + j / 8] >> (j % 8)) & 1
                plus += Int(bit)
                XCTAssertEqual(alpha[c] * (bit == 1 ? 1 : -1) + beta[c], wq[c * k + j], "channel \(c) weight \(j)")
            }
            XCTAssertEqual(plus, k / 2, "bwma channels are balanced")
        }
        XCTAssertNil(f.tensors["fc3.B"])
        XCTAssertEqual(f.tensors["fc3.weight"]?.shape, [10, 84])
        XCTAssertGreaterThan(f.tensors["conv2.input_clip"]?.floats.first ?? 0, 0)
    }

    func testProgressAndPlotText() {
        var lines: [String] = []
        var r = ProgressReporter(totalSteps: 10, epochs: 2, every: 5, isTerminal: false, write: { lines.append($0) })
        for s in 1...10 { r.step(s, epoch: s <= 5 ? 1 : 2, loss: 1.5, images: 64, seconds: 0.5) }
        XCTAssertEqual(lines.count, 2)
        XCTAssert(lines[0].hasPrefix("step 5/10  epoch 1/2  loss 1.5000  128 img/s  ETA 0:03"), lines[0])
        let svg = SVGPlot(title: "a<b", xLabel: "epoch", yLabel: "loss",
                          series: [.init(name: "train", points: [(1, 2), (2, 1), (3, .nan)])]).render()
        XCTAssert(svg.hasPrefix("<svg") && svg.contains("a&lt;b") && svg.contains("<polyline"), svg)
        XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 2, "the NaN point is skipped")
    }
}
