import Data
import Models
import Optim
import Quantization
import TensorEngine
import TestSupport
import Training
import XCTest

final class TrainingStepTests: XCTestCase {
    override func setUp() { EngineUnderTest.configure() }
    override func tearDown() { EngineUnderTest.reset() }

    func makeStep(seed: UInt64) throws -> (TrainingStep, Tensor, [Int32]) {
        let m = try ModelZoo.make("resnet20", inputShape: [1, 12, 12], numClasses: 10, seed: seed)
        let step = TrainingStep(model: m, optimizer: SGD(store: m.store, momentum: 0.9, weightDecay: 5e-4,
                                                          nesterov: true))
        var rng = RNG(seed: 9)
        let x = Tensor(shape: [8, 1, 12, 12])
        for i in 0..<x.count { x.data[i] = rng.normal() }
        let labels = (0..<8).map { _ in Int32(rng.below(10)) }
        return (step, x, labels)
    }

    func testSteadyStateStepsAllocateNoTensorStorage() throws {
        let (step, x, labels) = try makeStep(seed: 0)
        for _ in 0..<2 { try labels.withUnsafeBufferPointer { _ = try step.run(x: x, labels: $0.baseAddress!, lr: 0.05) } }
        let before = Tensor.allocationCount
        for _ in 0..<3 { try labels.withUnsafeBufferPointer { _ = try step.run(x: x, labels: $0.baseAddress!, lr: 0.05) } }
        XCTAssertEqual(Tensor.allocationCount, before, "a steady-state step allocated tensor storage")
    }

    func testTrainingIsReproducibleAndThreadCountOnlyChangesRounding() throws {
        func params(threads: Int) throws -> [Float] {
            EngineContext.threads = threads
            let (step, x, labels) = try makeStep(seed: 4)
            for _ in 0..<4 { try labels.withUnsafeBufferPointer { _ = try step.run(x: x, labels: $0.baseAddress!, lr: 0.05) } }
            return Array(UnsafeBufferPointer(start: step.model.store.values, count: step.model.store.parameterCount))
        }
        let a = try params(threads: 1), b = try params(threads: 1), c = try params(threads: 2)
        XCTAssertEqual(a, b, "same seed and threads must give bit-identical parameters")
        let maxDiff = zip(a, c).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(maxDiff, 1e-4, "2 threads diverged from 1 thread by \(maxDiff)")
    }

    /// ResNet-20 W1A4 (BWMA): a block's first-convolution quantizer backward fused with its masked input-gradient
    /// sum (`BasicBlock.fusesInputQuantizer`) trains to the same parameters bit for bit as the two passes — on one
    /// and two workers — and the fusion does run on the chained blocks.
    func testFusedQuantizerBackwardInBlocksIsTheSameTraining() throws {
        func blocks(_ l: Layer) -> [BasicBlock] {
            (l as? BasicBlock).map { [$0] } ?? l.children.flatMap(blocks)
        }
        for threads in [1, 2] {
            EngineContext.threads = threads
            func params(fused: Bool) throws -> [Float] {
                let m = try ModelZoo.make("resnet20", inputShape: [1, 12, 12], numClasses: 10, seed: 6,
                                          quant: try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4))
                let all = blocks(m.network)
                for b in all { b.fusesInputQuantizer = fused }
                let step = TrainingStep(model: m, optimizer: SGD(store: m.store, momentum: 0.9, weightDecay: 5e-4,
                                                                  nesterov: true))
                let (_, x, labels) = try makeStep(seed: 0)
                for _ in 0..<3 {
                    try labels.withUnsafeBufferPointer { _ = try step.run(x: x, labels: $0.baseAddress!, lr: 0.05) }
                }
                // Every block after the first of a stage whose shortcut is the identity (option A: the others).
                XCTAssertEqual(all.filter(\.fusedLastBackward).count, fused ? 6 : 0, "blocks that fused")
                return Array(UnsafeBufferPointer(start: m.store.values, count: m.store.parameterCount))
            }
            let fused = try params(fused: true), twoPasses = try params(fused: false)
            XCTAssertEqual(fused.map(\.bitPattern), twoPasses.map(\.bitPattern), "\(threads) thread(s)")
        }
    }

    func testLossDecreasesOnAFixedBatch() throws {
        let (step, x, labels) = try makeStep(seed: 1)
        var losses: [Double] = []
        for _ in 0..<15 {
            try labels.withUnsafeBufferPointer { losses.append(try step.run(x: x, labels: $0.baseAddress!, lr: 0.05).loss) }
        }
        XCTAssertLessThan(losses.last!, losses.first! * 0.5, "losses \(losses)")
    }
}
