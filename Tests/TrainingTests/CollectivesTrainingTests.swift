import Distributed
import Models
import Quantization
import TensorEngine
import Training
import XCTest

/// StepGuard and synchronised batch norm on N simulated ranks in one process (`LocalCollectives`), without mpirun.
final class CollectivesTrainingTests: XCTestCase {
    /// One rank's signal or non-finite loss stops every rank at the same step; the mean loss is the global one.
    func testStepGuardDecidesTheSameOnEveryRank() throws {
        for size in [2, 4] {
            try LocalCollectives.run(size: size) { comm in
                let guardian = StepGuard(communicator: comm)
                let (d0, loss) = try guardian.check(loss: Double(comm.rank + 1), images: 10, interrupted: false)
                XCTAssertEqual(d0, .proceed)
                XCTAssertEqual(loss, Double(size + 1) / 2, accuracy: 1e-12)
                let (d1, _) = try guardian.check(loss: 1, images: 10, interrupted: comm.rank == size - 1)
                XCTAssertEqual(d1, .interrupted)
                let (d2, nan) = try guardian.check(loss: comm.rank == 1 ? .nan : 1, images: 10,
                                                   interrupted: comm.rank == 0)
                XCTAssertEqual(d2, .nonFinite, "a NaN outranks an interrupt")
                XCTAssert(nan.isNaN)
            }
        }
    }

    /// Synchronised statistics (batch norm and the BWMA activation range) make R ranks x B/R compute what one
    /// process computes on the whole batch: SmallCNN W1A4, training forward, 2 and 4 simulated ranks.
    func testSynchronisedStatisticsMatchTheWholeBatch() throws {
        let batch = 8, shape = [1, 8, 8]
        let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4)
        let x = Tensor(shape: [batch] + shape)
        var rng = RNG(seed: 3)
        for i in 0..<x.count { x.data[i] = rng.normal() }
        let whole = try ModelZoo.make("smallcnn", inputShape: shape, numClasses: 10, seed: 1, quant: policy)
        let reference = whole.forward(x, training: true)
        let expected = Array(UnsafeBufferPointer(start: reference.data, count: reference.count))
        for size in [2, 4] {
            let per = batch / size, perSample = x.count / batch
            let logits = LockedArray(count: expected.count)
            try LocalCollectives.run(size: size) { comm in
                let m = try ModelZoo.make("smallcnn", inputShape: shape, numClasses: 10, seed: 1, quant: policy)
                Trainer.synchronizeStatistics(of: m, over: comm) { XCTFail("\($0)") }
                let shard = Tensor(shape: [per] + shape)
                shard.data.update(from: x.data + comm.rank * per * perSample, count: per * perSample)
                let y = m.forward(shard, training: true)
                logits.write(at: comm.rank * per * 10, UnsafeBufferPointer(start: y.data, count: y.count))
            }
            for i in expected.indices {
                XCTAssertEqual(logits.values[i], expected[i], accuracy: 1e-4 * max(1, abs(expected[i])),
                               "\(size) ranks, logit \(i)")
            }
        }
    }
}

/// Rows written by several threads into one array.
final class LockedArray: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Float]
    init(count: Int) { values = [Float](repeating: .nan, count: count) }
    func write(at offset: Int, _ rows: UnsafeBufferPointer<Float>) {
        lock.lock()
        for (k, v) in rows.enumerated() { values[offset + k] = v }
        lock.unlock()
    }
}
