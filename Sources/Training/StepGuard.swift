import Distributed

/// The per-step agreement of all ranks on whether to go on: after each optimiser step one allreduce of four
/// doubles (interrupt flags, non-finite losses, loss·images, images) makes every rank take the same decision —
/// stop for a signal on any rank, or for a NaN/Inf loss on any rank — at the same step, so no rank is left waiting
/// in a collective. It also yields the global batch loss for progress lines.
public struct StepGuard {
    public enum Decision: Equatable { case proceed, interrupted, nonFinite }

    let communicator: Collectives

    public init(communicator: Collectives) { self.communicator = communicator }

    /// This step's decision and the mean loss over the global batch (NaN when some rank's loss was not finite).
    public func check(loss: Double, images: Int, interrupted: Bool) throws -> (Decision, Double) {
        var v = [interrupted ? 1 : 0, loss.isFinite ? 0 : 1, loss * Double(images), Double(images)]
        try communicator.allreduce(&v, .sum, "step agreement (stop flags, loss)")
        let mean = v[1] > 0 ? Double.nan : v[2] / Swift.max(v[3], 1)
        if v[1] > 0 { return (.nonFinite, mean) }
        if v[0] > 0 { return (.interrupted, mean) }
        return (.proceed, mean)
    }
}

/// Why a run stopped before its last epoch.
public enum TrainingStop: Error, CustomStringConvertible {
    /// A signal: the checkpoint at `checkpoint` holds the state after `step` global steps.
    case interrupted(step: Int, checkpoint: String, runFolder: String)
    /// A NaN or Inf loss at global step `step`; the last good checkpoint (if any) is untouched.
    case nonFinite(step: Int, epoch: Int, lastCheckpoint: String?)

    public var isInterrupt: Bool { if case .interrupted = self { return true } else { return false } }

    public var description: String {
        switch self {
        case .interrupted(let step, let checkpoint, let folder):
            return "interrupted at step \(step); checkpoint \(checkpoint) written; resume with: bwma train --resume \(folder)"
        case .nonFinite(let step, let epoch, let last):
            return "the training loss became NaN/Inf at step \(step) (epoch \(epoch)); stopped without saving the "
                + "broken weights. " + (last.map { "Last good checkpoint: \($0). " } ?? "No checkpoint was written yet. ")
                + "Lower optim.lr, add warm-up (schedule.warmup_epochs) or check the data."
        }
    }
}
