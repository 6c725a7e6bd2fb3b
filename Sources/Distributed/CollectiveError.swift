import Foundation

/// A collective that failed, on MPI or on the in-process `LocalCollectives`.
public enum CollectiveError: Error, CustomStringConvertible {
    /// An MPI call returned an error (`MPI_ERRORS_RETURN`): the call, MPI's code and its message.
    case mpi(call: String, code: Int32, message: String)
    /// Ranks called one collective in different ways (kind, size or root): `LocalCollectives` checks this, MPI
    /// would hang or mix the buffers.
    case mismatch(String)
    /// A collective did not complete within the timeout (`distributed.timeout_s`): PyTorch's NCCL/gloo timeouts,
    /// for MPI. Thrown on every rank still running; the CLI prints it and ends the job (`MPI_Abort`), so a stopped,
    /// hung or dead rank cannot keep the others waiting forever. Checkpoints are written atomically and never from
    /// inside a collective, so the last one is intact.
    case timeout(CollectiveTimeout)

    public var description: String {
        switch self {
        case .mpi(let call, let code, let message): return "MPI error in \(call): \(message) (code \(code))"
        case .mismatch(let what): return what
        case .timeout(let report): return report.description
        }
    }
}

/// What a collective timeout saw: who waited, who never arrived, and whether this rank itself was stopped.
public struct CollectiveTimeout: Sendable, CustomStringConvertible {
    public let rank: Int, size: Int
    /// Where the job was and which collective stalled.
    public let phase: String, collective: String
    public let seconds: Double
    /// Ranks that reported the same stall within the grace period, and those that did not.
    public let waiting: [Int], missing: [Int]
    /// Seconds this rank itself was not running while it waited (it was stopped or starved: then it is likely the
    /// rank the others are missing, woken by the job's abort).
    public let suspended: Double

    public var description: String {
        let who = missing.isEmpty
            ? "every rank reported waiting (a collective mismatch between ranks?)"
            : "rank(s) \(missing.map(String.init).joined(separator: ", ")) did not arrive (stopped, hung or dead)"
        if suspended > 0 {
            return "collective timeout: \(phase): \(collective): this rank was not running for "
                + "\(Self.format(suspended)) s of its \(Self.format(seconds)) s wait (stopped or starved); ending the job"
        }
        return "collective timeout: \(phase): \(collective) did not complete in \(Self.format(seconds)) s "
            + "(distributed.timeout_s); \(who); rank(s) \(waiting.map(String.init).joined(separator: ", ")) were "
            + "waiting. Ending the job; the last checkpoint is intact."
    }

    static func format(_ s: Double) -> String { s == s.rounded() ? String(Int(s)) : String(format: "%.1f", s) }
}
