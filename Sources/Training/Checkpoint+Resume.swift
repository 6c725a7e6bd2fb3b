import Foundation
import RunConfiguration

/// Resuming on another number of ranks (docs/distributed.md, "Resuming on more or fewer ranks").
///
/// A checkpoint written by R ranks of per-rank batch B continues on R′ ranks with:
/// - the global step, the optimiser state and the learning-rate schedule's position kept (the schedule is rebuilt
///   for the new steps per epoch, which can differ by one through the sampler's padding);
/// - the samples the job had consumed of the current epoch kept: the rest of the epoch's order is re-sharded over
///   the R′ ranks (`DistributedSampler.indices(epoch:from:)`), so every sample of the epoch is seen once;
/// - `runtime.resume_batch: global` (default): the global batch B·R kept, per-rank batch B·R/R′ (R′ must divide
///   it); `per_rank`: the per-rank batch B kept, the global batch becomes B·R′. The learning rate is unchanged
///   either way (with `per_rank` a changed global batch is the user's decision);
/// - batch-norm statistics: rank r continues with its own where the writing job had rank r, else with rank 0's.
extension Checkpoint {
    public struct ResumeLayout: Equatable, Sendable {
        /// Ranks and per-rank batch of the job that wrote the checkpoint.
        public var storedRanks: Int, storedBatch: Int
        /// The per-rank batch of the resumed job.
        public var perRankBatch: Int
        /// Samples of the current epoch the writing job had consumed (global positions in the epoch's order).
        public var epochOffset: Int

        public init(storedRanks: Int, storedBatch: Int, perRankBatch: Int, epochOffset: Int) {
            self.storedRanks = storedRanks; self.storedBatch = storedBatch
            self.perRankBatch = perRankBatch; self.epochOffset = epochOffset
        }
    }

    /// How this checkpoint continues on `ranks` processes under `mode` (`global` or `per_rank`).
    public func resumeLayout(ranks: Int, mode: String, path: String = "") throws -> ResumeLayout {
        guard let storedRanks = Int(file.metadata["ranks"] ?? ""), storedRanks >= 1 else {
            throw FileError.checkpoint(path, "the metadata does not say how many ranks wrote it (ranks)")
        }
        guard let json = file.metadata["sampler"], let sampler = try? JSONSerialization.jsonObject(with: Data(json.utf8))
                as? [String: Any], let batch = (sampler["batch_size"] as? NSNumber)?.intValue, batch >= 1 else {
            throw FileError.checkpoint(path, "the sampler metadata (batch_size) is missing or malformed")
        }
        let p = try progress(path: path)
        let offset = p.epochSamples ?? p.stepInEpoch * batch * storedRanks
        var perRank = batch
        if mode == "global" && ranks != storedRanks {
            let global = batch * storedRanks
            guard global % ranks == 0 else {
                throw FileError.checkpoint(path, "written by \(storedRanks) rank(s) of batch \(batch) (global batch "
                    + "\(global)); \(ranks) rank(s) cannot split that global batch evenly: resume on a number of ranks "
                    + "that divides \(global), or keep the per-rank batch with --set runtime.resume_batch=per_rank "
                    + "(global batch \(batch * ranks))")
            }
            perRank = global / ranks
        }
        return ResumeLayout(storedRanks: storedRanks, storedBatch: batch, perRankBatch: perRank, epochOffset: offset)
    }
}
