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
        var all: [Int]
        if shuffle {
            var rng = RNG(seed: seed &+ UInt64(epoch), stream: 1000)
            all = rng.permutation(count)
        } else {
            all = Array(0..<count)
        }
        let total = perRank * worldSize
        if total > all.count, !all.isEmpty {
            var i = 0
            while all.count < total { all.append(all[i % count]); i += 1 }
        } else if total < all.count {
            all.removeLast(all.count - total)
        }
        let mine = Array(stride(from: rank, to: total, by: worldSize).map { all[$0] })
        precondition(mine.count == perRank, "sampler produced \(mine.count) of \(perRank) indices")
        return mine
    }
}
