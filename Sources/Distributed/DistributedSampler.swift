import TensorEngine

/// Which samples each rank sees in an epoch, with PyTorch's `DistributedSampler` semantics: the index list
/// (shuffled by `seed + epoch` when `shuffle`) is padded by repeating its head to a multiple of the world size — or
/// truncated to one with `dropLast` — and rank r takes every world-size-th index starting at r. Every rank gets the
/// same number of samples, so every rank runs the same number of steps.
public struct DistributedSampler: Sendable, Equatable {
    public let count: Int, rank: Int, worldSize: Int, seed: UInt64, shuffle: Bool, dropLast: Bool

    public init(count: Int, rank: Int, worldSize: Int, seed: UInt64, shuffle: Bool = true, dropLast: Bool = false) {
        precondition(worldSize >= 1 && rank >= 0 && rank < worldSize, "rank \(rank) outside world of \(worldSize)")
        precondition(count >= 0)
        self.count = count; self.rank = rank; self.worldSize = worldSize; self.seed = seed
        self.shuffle = shuffle; self.dropLast = dropLast
    }

    /// Samples per rank per epoch.
    public var perRank: Int { dropLast ? count / worldSize : (count + worldSize - 1) / worldSize }

    /// This rank's indices for `epoch`.
    public func indices(epoch: Int) -> [Int] {
        let mine = indices(epoch: epoch, from: 0)
        precondition(mine.count == perRank, "sampler produced \(mine.count) of \(perRank) indices")
        return mine
    }

    /// This rank's share of what is left of `epoch` after its first `offset` samples (global positions in the
    /// epoch's order): the rest of the order, padded (or truncated, `dropLast`) to a multiple of the world size and
    /// dealt out like a whole epoch. A run that consumed `offset` = steps·batch·ranks samples with this world size
    /// gets exactly its shards' remaining indices; with another world size (a resume on more or fewer ranks) the
    /// remaining samples are re-sharded and every sample of the epoch is still seen once.
    public func indices(epoch: Int, from offset: Int) -> [Int] {
        var all: [Int]
        if shuffle {
            var rng = RNG(seed: seed &+ UInt64(epoch), stream: 1000)
            all = rng.permutation(count)
        } else {
            all = Array(0..<count)
        }
        let head = all
        all.removeFirst(Swift.min(Swift.max(offset, 0), all.count))
        let total = dropLast ? all.count / worldSize * worldSize
                             : (all.count + worldSize - 1) / worldSize * worldSize
        if total > all.count, !head.isEmpty {
            var i = 0
            while all.count < total { all.append(head[i % count]); i += 1 }
        } else if total < all.count {
            all.removeLast(all.count - total)
        }
        return Array(stride(from: rank, to: total, by: worldSize).map { all[$0] })
    }
}
