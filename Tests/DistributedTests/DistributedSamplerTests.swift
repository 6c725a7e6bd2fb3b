import Distributed
import XCTest

final class DistributedSamplerTests: XCTestCase {
    func testShardsAreDisjointCoverTheEpochAndMatchPyTorchLayout() {
        for (n, world) in [(10, 2), (11, 2), (11, 3), (7, 4), (128, 1)] {
            let shards = (0..<world).map { DistributedSampler(count: n, rank: $0, worldSize: world, seed: 5) }
            let per = shards.map { $0.indices(epoch: 3) }
            XCTAssert(per.allSatisfy { $0.count == (n + world - 1) / world }, "equal counts")
            // Padding repeats the head of the permutation: the union covers all n, the total is ceil(n/w)·w.
            XCTAssertEqual(Set(per.joined()), Set(0..<n))
            XCTAssertEqual(per.joined().count, ((n + world - 1) / world) * world)
            if n % world == 0 { XCTAssertEqual(per.joined().count, Set(per.joined()).count, "disjoint") }
            // Rank r takes positions r, r + w, ... of the one shared permutation.
            let full = DistributedSampler(count: n, rank: 0, worldSize: 1, seed: 5).indices(epoch: 3)
            for r in 0..<world {
                for (j, i) in per[r].enumerated() where r + j * world < n { XCTAssertEqual(i, full[r + j * world]) }
            }
        }
    }

    func testDropLastTruncatesAndEpochsReshuffle() {
        let a = DistributedSampler(count: 11, rank: 1, worldSize: 3, seed: 0, dropLast: true)
        XCTAssertEqual(a.perRank, 3)
        XCTAssertEqual(a.indices(epoch: 0).count, 3)
        let all = (0..<3).flatMap { DistributedSampler(count: 11, rank: $0, worldSize: 3, seed: 0, dropLast: true).indices(epoch: 0) }
        XCTAssertEqual(Set(all).count, 9, "disjoint after truncation")
        XCTAssertNotEqual(a.indices(epoch: 0), a.indices(epoch: 1))
        XCTAssertEqual(a.indices(epoch: 1), a.indices(epoch: 1))
        let ordered = DistributedSampler(count: 6, rank: 1, worldSize: 2, seed: 0, shuffle: false)
        XCTAssertEqual(ordered.indices(epoch: 0), [1, 3, 5])
    }
}

extension DistributedSamplerTests {
    /// From an offset of k steps of the same world size, each rank gets exactly the rest of its whole-epoch shard.
    func testResumingWithTheSameWorldSizeContinuesEachShard() {
        for (n, world, batch, dropLast) in [(100, 2, 8, false), (101, 3, 4, false), (101, 3, 4, true), (64, 1, 16, false)] {
            for rank in 0..<world {
                let s = DistributedSampler(count: n, rank: rank, worldSize: world, seed: 9, dropLast: dropLast)
                let whole = s.indices(epoch: 2)
                for k in 0...3 {
                    XCTAssertEqual(s.indices(epoch: 2, from: k * batch * world), Array(whole.dropFirst(k * batch)),
                                   "n \(n) world \(world) rank \(rank) after \(k) steps")
                }
            }
        }
    }

    /// A job of 2 ranks x batch 8 stopped after 3 steps and resumed on 1 rank x 16 (or 4 ranks x 4): every sample
    /// of the epoch is seen exactly once, and each resumed global batch is the uninterrupted job's next global
    /// batch as a set.
    func testResumingOnAnotherWorldSizeReshardsTheRest() {
        let n = 96, seed: UInt64 = 4
        func globalBatches(_ world: Int, _ batch: Int, from offset: Int) -> [Set<Int>] {
            let shards = (0..<world).map {
                DistributedSampler(count: n, rank: $0, worldSize: world, seed: seed).indices(epoch: 1, from: offset)
            }
            return (0..<(shards[0].count / batch)).map { k in Set(shards.flatMap { $0[(k * batch)..<((k + 1) * batch)] }) }
        }
        let uninterrupted = globalBatches(2, 8, from: 0)
        for (world, batch) in [(1, 16), (4, 4), (2, 8)] {
            let resumed = globalBatches(world, batch, from: 3 * 16)
            XCTAssertEqual(resumed, Array(uninterrupted.dropFirst(3)), "resumed on \(world) rank(s)")
            XCTAssertEqual(Set(uninterrupted.prefix(3).flatMap { $0 } + resumed.flatMap { $0 }), Set(0..<n))
        }
        // An uneven rest is padded from the epoch's head to a multiple of the new world size.
        let rest = (0..<3).map { DistributedSampler(count: 10, rank: $0, worldSize: 3, seed: 1).indices(epoch: 0, from: 4) }
        XCTAssert(rest.allSatisfy { $0.count == 2 })
        XCTAssert(Set(rest.joined()).isSuperset(of: Set(DistributedSampler(count: 10, rank: 0, worldSize: 1, seed: 1)
            .indices(epoch: 0).dropFirst(4))))
        XCTAssertEqual(DistributedSampler(count: 10, rank: 0, worldSize: 2, seed: 1).indices(epoch: 0, from: 10), [])
    }
}

final class BucketingTests: XCTestCase {
    /// PyTorch DDP's small first bucket: the last parameters close a bucket at `firstCapBytes`, the rest at the cap.
    func testASmallFirstBucket() {
        let b = Bucketing.assign(sizes: [3, 4, 6, 2, 9, 1], capBytes: 40, firstCapBytes: 4)
        XCTAssertEqual(b, [5..<6, 3..<5, 1..<3, 0..<1])
        XCTAssertEqual(Bucketing.assign(sizes: [3, 4, 6, 2, 9, 1], capBytes: 40, firstCapBytes: nil),
                       Bucketing.assign(sizes: [3, 4, 6, 2, 9, 1], capBytes: 40))
    }

    func testBucketsFillInReverseOrderAndCloseAtTheCap() {
        // 4-byte elements; cap 40 bytes = 10 elements.
        let b = Bucketing.assign(sizes: [3, 4, 6, 2, 9, 1], capBytes: 40)
        // Reverse: 1 → 10 (closes at 9+1), then 2+6 = 8 < 10, +4 = 12 closes, then [0] alone.
        XCTAssertEqual(b, [4..<6, 1..<4, 0..<1])
        XCTAssertEqual(Bucketing.assign(sizes: [5, 5], capBytes: 1 << 20), [0..<2])
        XCTAssertEqual(Bucketing.assign(sizes: [], capBytes: 8), [])
        // Every parameter in exactly one bucket, in reverse order.
        let sizes = (0..<50).map { ($0 * 37) % 11 + 1 }
        let buckets = Bucketing.assign(sizes: sizes, capBytes: 64)
        XCTAssertEqual(buckets.flatMap { Array($0) }.sorted(), Array(0..<50))
        XCTAssert(zip(buckets, buckets.dropFirst()).allSatisfy { $0.lowerBound == $1.upperBound })
    }

    func testWorldOfOneWithoutALauncher() throws {
        // The test process is not started by mpirun: a world of one whose collectives leave data unchanged.
        let c = try Communicator.world()
        XCTAssertEqual(c.size, 1)
        XCTAssertEqual(c.rank, 0)
        XCTAssertFalse(c.usesMPI)
        var v = [1.5, 2.5]
        try c.allreduce(&v)
        XCTAssertEqual(v, [1.5, 2.5])
        XCTAssertEqual(try c.gather([3]), [3])
    }
}
