import Data
import Foundation
import TensorEngine
import XCTest

final class BatchLoaderTests: XCTestCase {
    func dataset(_ n: Int) -> ImageDataset {
        ImageDataset(name: "s", images: IDXFixtures.pseudoRandomBytes(n * 3 * 8 * 8, seed: 4),
                     labels: (0..<n).map { Int32($0 % 10) }, channels: 3, height: 8, width: 8, numClasses: 10)
    }

    func collect(_ l: BatchLoader, epoch: Int, indices: [Int], firstBatch: Int = 0) throws -> [([Float], [Int32])] {
        l.start(epoch: epoch, indices: indices, firstBatch: firstBatch)
        var out = [([Float], [Int32])]()
        while let b = try l.next() {
            out.append((Array(UnsafeBufferPointer(start: b.x.data, count: b.x.count)),
                        Array(UnsafeBufferPointer(start: b.labels, count: b.count))))
        }
        return out
    }

    /// Batches come out in order and identical whatever the number of workers and ring depth, and a sample's
    /// augmentation depends only on (seed, epoch, index).
    func testOrderAndAugmentationIndependentOfThreads() throws {
        let d = dataset(53)
        var shuffle = RNG(seed: 3)
        let order = shuffle.permutation(53)
        let aug = Augmentation.randomResizedCrop(size: 6, scale: 0.3...1, ratio: 0.75...(4.0 / 3), flip: true)
        let norm = Normalization(mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3])
        var results = [[([Float], [Int32])]]()
        for (workers, depth) in [(0, 2), (1, 2), (3, 3), (2, 8)] {
            let l = try BatchLoader(source: d, augmentation: aug, normalization: norm, batchSize: 8, workers: workers,
                                    depth: depth, seed: 9, skipBadSamples: false)
            results.append(try collect(l, epoch: 2, indices: order))
        }
        XCTAssertEqual(results[0].count, 7)
        XCTAssertEqual(results[0].last?.1.count, 5)
        for r in results.dropFirst() {
            XCTAssertEqual(r.map { $0.1 }, results[0].map { $0.1 })
            XCTAssertEqual(r.map { $0.0 }, results[0].map { $0.0 })
        }
        XCTAssertEqual(results[0].flatMap { $0.1 }, order.map { Int32($0 % 10) })
        // Another epoch draws other crops for the same samples.
        let l = try BatchLoader(source: d, augmentation: aug, normalization: norm, batchSize: 8, workers: 1,
                                seed: 9, skipBadSamples: false)
        let other = try collect(l, epoch: 3, indices: order)
        XCTAssertNotEqual(other.map { $0.0 }, results[0].map { $0.0 })
        // A resumed epoch (from batch 4) yields exactly the remaining batches.
        let resumed = try collect(l, epoch: 2, indices: order, firstBatch: 4)
        XCTAssertEqual(resumed.map { $0.0 }, results[0].dropFirst(4).map { $0.0 })
    }

    /// Normalisation: x = (byte/255 − mean_c) / std_c for every element.
    func testNormalisesEveryChannel() throws {
        let d = dataset(4)
        let norm = Normalization(mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3])
        let l = try BatchLoader(source: d, augmentation: .none, normalization: norm, batchSize: 4, workers: 2,
                                seed: 0, skipBadSamples: false)
        let b = try collect(l, epoch: 0, indices: [3, 1, 0, 2])[0].0
        let order = [3, 1, 0, 2]
        for (row, i) in order.enumerated() {
            for k in 0..<192 {
                let c = k / 64
                let want = (Float(d.pixels.base[i * 192 + k]) / 255 - norm.mean[c]) / norm.std[c]
                XCTAssertEqual(b[row * 192 + k], want, accuracy: 1e-5)
            }
        }
    }

    /// Abandoning an epoch half-way and starting another leaves no stale batch behind.
    func testRestartMidEpoch() throws {
        let d = dataset(40)
        let l = try BatchLoader(source: d, augmentation: .none, normalization: .init(mean: [0, 0, 0], std: [1, 1, 1]),
                                batchSize: 4, workers: 2, depth: 3, seed: 0, skipBadSamples: false)
        l.start(epoch: 0, indices: Array(0..<40))
        _ = try l.next()
        let fresh = try collect(l, epoch: 1, indices: Array((0..<40).reversed()))
        XCTAssertEqual(fresh.flatMap { $0.1 }, (0..<40).reversed().map { Int32($0 % 10) })
    }

    /// A released loader stops its worker threads: 100 loaders of 4 workers each, used and dropped, leave the
    /// process's thread count where it was (Linux: /proc/self/task).
    func testReleasedLoadersStopTheirThreads() throws {
        func threads() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0 }
        try XCTSkipUnless(threads() > 0, "needs /proc")
        let before = threads()
        let d = dataset(8)
        for _ in 0..<100 {
            let l = try BatchLoader(source: d, augmentation: .none, normalization: .init(mean: [0, 0, 0], std: [1, 1, 1]),
                                    batchSize: 4, workers: 4, seed: 0, skipBadSamples: false)
            XCTAssertEqual(try collect(l, epoch: 0, indices: Array(0..<8)).count, 2)
        }
        XCTAssertLessThan(threads(), before + 20, "worker threads of released loaders must exit")
    }

    func testSyntheticDatasetIsSeededAndLearnableShape() {
        let a = SyntheticDataset.make(count: 50, channels: 3, height: 4, width: 4, classes: 5, seed: 1)
        let b = SyntheticDataset.make(count: 50, channels: 3, height: 4, width: 4, classes: 5, seed: 1)
        let c = SyntheticDataset.make(count: 50, channels: 3, height: 4, width: 4, classes: 5, seed: 2)
        XCTAssertEqual(Array(a.pixels.buffer), Array(b.pixels.buffer))
        XCTAssertEqual(a.labels, b.labels)
        XCTAssertNotEqual(Array(a.pixels.buffer), Array(c.pixels.buffer))
        XCTAssertEqual(Set(a.labels).count, 5)
        // Same-class images are closer to each other than to other classes' (the class pattern dominates the noise).
        func dist(_ i: Int, _ j: Int) -> Int { (0..<48).map { abs(Int(a.pixels.base[i * 48 + $0]) - Int(a.pixels.base[j * 48 + $0])) }.reduce(0, +) }
        let i = 0, same = (1..<50).first { a.labels[$0] == a.labels[i] }!, other = (1..<50).first { a.labels[$0] != a.labels[i] }!
        XCTAssertLessThan(dist(i, same), dist(i, other))
    }
}
