import XCTest
import TensorEngine

/// The two ways the engine's loops are split over its workers.
final class ParallelTests: XCTestCase {
    private var savedThreads = 1
    override func setUp() { savedThreads = EngineContext.threads }
    override func tearDown() { EngineContext.threads = savedThreads }

    /// Every call's (worker, range), recorded under a lock (the bodies run on OpenMP's team).
    private final class Calls: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var all: [(worker: Int, range: Range<Int>)] = []
        /// Records a call; whether it is the worker's first.
        @discardableResult func add(_ w: Int, _ r: Range<Int>) -> Bool {
            lock.lock(); defer { lock.unlock() }
            let first = !all.contains { $0.worker == w }
            all.append((w, r))
            return first
        }
    }

    private func covered(_ calls: Calls, _ n: Int) -> [Int] {
        var hits = [Int](repeating: 0, count: n)
        for c in calls.all { for i in c.range { hits[i] += 1 } }
        return hits
    }

    func testChunksSplitIntoOneContiguousRangePerWorker() {
        for threads in [1, 2, 3] {
            EngineContext.threads = threads
            for n in [0, 1, 2, 5, 128, 1001] {
                let calls = Calls()
                Parallel.chunks(n) { calls.add($0, $1) }
                XCTAssertEqual(covered(calls, n), [Int](repeating: 1, count: n), "threads \(threads) n \(n)")
                XCTAssertEqual(Set(calls.all.map(\.worker)).count, calls.all.count, "one range per worker")
                XCTAssertLessThanOrEqual(calls.all.count, Swift.min(threads, Swift.max(n, 1)))
                // Worker w has the w-th range: the fixed split that per-worker partial sums rely on.
                let sorted = calls.all.sorted { $0.worker < $1.worker }
                XCTAssertEqual(sorted.map(\.range.lowerBound), sorted.map(\.range.lowerBound).sorted())
            }
        }
    }

    func testPiecesCoverEveryIndexOnceInWholeMultiples() {
        for threads in [1, 2, 3] {
            EngineContext.threads = threads
            for (n, multiple) in [(0, 1), (1, 16), (7, 1), (128, 1), (1000, 16), (4099, 16), (100_000, 16)] {
                let calls = Calls()
                Parallel.pieces(n, multiple: multiple) { calls.add($0, $1) }
                XCTAssertEqual(covered(calls, n), [Int](repeating: 1, count: n), "threads \(threads) n \(n)")
                for c in calls.all {
                    XCTAssertTrue(c.range.lowerBound % multiple == 0, "piece \(c.range) starts off a multiple")
                    XCTAssertTrue(c.range.count % multiple == 0 || c.range.upperBound == n, "piece \(c.range)")
                    XCTAssertTrue((0..<Swift.max(threads, 1)).contains(c.worker))
                }
                if threads > 1 && n >= 128 * multiple {
                    // Smaller pieces than a static split: a slower worker can leave some of its share to another.
                    XCTAssertGreaterThan(calls.all.count, threads, "n \(n): \(calls.all.count) pieces")
                }
            }
        }
    }

    /// Inside another region OpenMP runs a team of one: that member runs every worker's share.
    func testPiecesInsideAChunkCoverTheirLoop() {
        EngineContext.threads = 2
        let outer = Calls(), inner = [Calls(), Calls()]
        Parallel.chunks(2) { worker, range in
            outer.add(worker, range)
            for i in range { Parallel.pieces(1000, multiple: 16) { inner[i].add($0, $1) } }
        }
        XCTAssertEqual(covered(outer, 2), [1, 1])
        for calls in inner {
            XCTAssertEqual(covered(calls, 1000), [Int](repeating: 1, count: 1000))
            XCTAssertEqual(Set(calls.all.map(\.worker)), [0], "a nested region's team is its caller alone")
        }
    }

    /// A worker that stalls leaves the rest of the loop to the others (a static split would wait for its half):
    /// the calling thread (worker 0, always in the team) sleeps in its first piece, whichever that is.
    func testPiecesMoveWorkAwayFromAStalledWorker() throws {
        EngineContext.threads = 2
        let calls = Calls()
        Parallel.pieces(64) { worker, range in
            // 200 ms by the clock: a signal (a child process of an earlier test ending) may cut one usleep short.
            if calls.add(worker, range) && worker == 0 {
                let end = ProcessClock.now() + 0.2
                while ProcessClock.now() < end { usleep(10_000) }
            }
        }
        try XCTSkipIf(Set(calls.all.map(\.worker)).count < 2, "OpenMP ran a team of one")
        let byOthers = calls.all.filter { $0.worker != 0 }.reduce(0) { $0 + $1.range.count }
        XCTAssertGreaterThan(byOthers, 48, "while worker 0 stalled on its first piece the other took the rest")
    }
}
