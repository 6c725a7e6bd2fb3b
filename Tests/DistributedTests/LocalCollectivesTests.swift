import Distributed
import TensorEngine
import XCTest

/// GradientSync and the collectives on N simulated ranks in one process (`LocalCollectives`), without mpirun.
final class LocalCollectivesTests: XCTestCase {
    /// Rank r's gradient value i (distinct per rank and element, exact in Float).
    static func gradient(_ r: Int, _ i: Int) -> Float { Float((i * 7 + r * 13) % 29) - 14 + Float(r) * 0.25 }

    /// Every bucket ends as the sum over the ranks, on 2 and 4 ranks, with and without overlap; the buckets are
    /// launched in the same order everywhere (the fake refuses mismatched calls).
    func testGradientSyncSumsEveryBucket() throws {
        for size in [2, 4] {
            for overlap in [true, false] {
                try LocalCollectives.run(size: size) { comm in
                    let store = ParameterStore()
                    for (k, n) in [300, 5000, 70, 20000, 9].enumerated() { _ = store.parameter("p\(k)", shape: [n]) }
                    store.finalize()
                    let count = store.parameterCount
                    for i in 0..<count { store.grads[i] = Self.gradient(comm.rank, i) }
                    let sync = GradientSync(store: store, communicator: comm, capBytes: 16_384, firstCapBytes: 1_024,
                                            overlap: overlap)
                    XCTAssertEqual(sync.buckets.count, 3)  // [p3, p4] (first cap 1 KiB), [p1, p2], [p0]
                    sync.beginStep()
                    // Backward: the last parameters' gradients are final first.
                    for p in store.parameters.reversed() { try sync.ready(downTo: p.offset) }
                    try sync.finish()
                    for i in 0..<count {
                        var expected: Float = 0
                        for r in 0..<size { expected += Self.gradient(r, i) }
                        if store.grads[i] != expected {
                            XCTFail("\(size) ranks, overlap \(overlap), rank \(comm.rank): element \(i) is "
                                    + "\(store.grads[i]), expected \(expected)")
                            return
                        }
                    }
                }
            }
        }
    }

    func testBroadcastGatherAndReductions() throws {
        try LocalCollectives.run(size: 3) { comm in
            var x: [Float] = [Float(comm.rank), 1, 2]
            try comm.broadcast(&x, count: 3, root: 2, "broadcast")
            XCTAssertEqual(x, [2, 1, 2])
            var m = [Double(comm.rank), -Double(comm.rank)]
            try comm.allreduce(&m, .max, "max")
            XCTAssertEqual(m, [2, 0])
            let g = try comm.gather([Double(comm.rank), 10], root: 0, "gather")
            XCTAssertEqual(g, comm.rank == 0 ? [0, 10, 1, 10, 2, 10] : [])
            try comm.barrier("barrier")
        }
    }

    /// Ranks that call different collectives at the same position get an error naming both.
    func testMismatchedCollectivesAreCaught() {
        XCTAssertThrowsError(try LocalCollectives.run(size: 2) { comm in
            var v = [Double](repeating: 1, count: comm.rank == 0 ? 3 : 4)
            try comm.allreduce(&v, .sum, "statistics of rank \(comm.rank)")
        }) { error in
            XCTAssert("\(error)".contains("collective mismatch at position 0") && "\(error)".contains("statistics of rank"),
                      "\(error)")
        }
    }

    /// A rank that never arrives: the others' collective times out naming it.
    func testTimeoutNamesTheRankThatDidNotArrive() {
        let messages = Messages()
        // Rank 2 returns at once without calling the collective.
        XCTAssertNoThrow(try LocalCollectives.run(size: 3) { comm in
            guard comm.rank < 2 else { return }
            comm.timeout = 0.3
            comm.phase = "step 7 (epoch 1)"
            do { try comm.barrier("step agreement") } catch { messages.add("\(error)") }
        })
        XCTAssertEqual(messages.all.count, 2)
        for m in messages.all {
            XCTAssert(m.contains("step 7 (epoch 1): step agreement did not complete")
                      && m.contains("rank(s) 2 did not arrive") && m.contains("rank(s) 0, 1 were waiting"), m)
        }
    }

    final class Messages: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var all: [String] = []
        func add(_ s: String) { lock.lock(); all.append(s); lock.unlock() }
    }
}
