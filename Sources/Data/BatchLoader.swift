import Foundation
import TensorEngine

/// Feeds training and evaluation with ready batches: background threads render samples (decode, augment,
/// normalise) into a bounded ring of batch slots while the consumer trains on earlier ones.
///
/// - Order: batch k of an epoch holds `indices[k·B ..< (k+1)·B]`, whichever worker renders it; `next()` returns
///   batches in order.
/// - Randomness: sample i of epoch e draws its augmentation from `RNG(seed: mix(seed, e), stream: i)`, so the
///   result does not depend on threads, ranks or where a resumed run restarts.
/// - Bad samples (`DataError.badSample`: an undecodable or unreadable file) stop the run with that error, or —
///   with `skipBadSamples` — are left out of their batch and counted (`skipped`, `skippedExamples`).
/// - `workers == 0` renders in the caller's thread (no threads at all).
///
/// Sendable (unchecked): the consumer calls it from one thread; what the workers share lives in `LoaderCore`.
public final class BatchLoader: @unchecked Sendable {
    /// One ready batch; valid until the next call to `next()`.
    public struct Batch {
        public let x: Tensor
        public let labels: UnsafeMutablePointer<Int32>
        public var count: Int { x.shape[0] }
    }

    let core: LoaderCore

    /// - Parameters:
    ///   - depth: batch slots in the ring (≥ 2); workers run at most `depth − 1` batches ahead.
    public init(source: SampleSource, augmentation: Augmentation, normalization: Normalization, batchSize: Int,
                workers: Int, depth: Int = 4, seed: UInt64, skipBadSamples: Bool) throws {
        core = try LoaderCore(source: source, augmentation: augmentation, normalization: normalization,
                              batchSize: batchSize, workers: workers, depth: depth, seed: seed,
                              skipBadSamples: skipBadSamples)
    }

    /// Stops the worker threads (they finish their current batch first).
    deinit { core.shutdown() }

    public var source: SampleSource { core.source }
    public var augmentation: Augmentation { core.augmentation }
    public var normalization: Normalization { core.normalization }
    public var batchSize: Int { core.batchSize }
    /// [C, H, W] of each sample.
    public var sampleShape: [Int] { core.sampleShape }

    /// Begins an epoch over `indices` (this rank's shard, in order), from batch `firstBatch` (a resumed run).
    public func start(epoch: Int, indices: [Int], firstBatch: Int = 0) {
        core.start(epoch: epoch, indices: indices, firstBatch: firstBatch)
    }

    /// The next batch of the epoch, nil after the last. Rethrows a worker's error (naming the file).
    public func next() throws -> Batch? { try core.next() }

    /// Seconds `next()` spent waiting for a batch since the last `resetWaitTime()`.
    public var waitSeconds: Double { core.waitTime }
    public func resetWaitTime() { core.resetWaitTime() }

    /// Samples left out as unreadable so far, the first few of them, and libjpeg's recoverable-damage warnings.
    public var skipped: (count: Int, examples: [String], jpegWarnings: Int) { core.skipped }

    /// The generator of sample `index` in `epoch`.
    public static func sampleRNG(seed: UInt64, epoch: Int, index: Int) -> RNG {
        var perEpoch = RNG(seed: seed, stream: 0xDA7A_0000 &+ UInt64(epoch))
        return RNG(seed: perEpoch.next(), stream: UInt64(index))
    }
}
