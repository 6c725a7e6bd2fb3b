/// How an allreduce combines the ranks' values.
public enum Reduction: Sendable { case sum, max }

/// What data-parallel training needs from a group of ranks: rank, size, blocking collectives, and the non-blocking
/// sums of gradient buckets. `Communicator` implements it over MPI; `LocalCollectives` over threads of one process
/// (N simulated ranks), so that GradientSync, StepGuard and synchronised batch norm are unit-tested without mpirun.
/// Every rank must call the same collectives in the same order; `what` names a collective in timeout messages.
public protocol Collectives: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Seconds a collective may take before it throws `CollectiveError.timeout` (0 = wait forever).
    var timeout: Double { get set }
    /// Where the job is ("step 14 (epoch 2)"), for timeout messages.
    var phase: String { get set }

    func barrier(_ what: String) throws
    /// Broadcasts `count` floats from `root` into every rank's buffer.
    func broadcast(_ p: UnsafeMutablePointer<Float>, count: Int, root: Int, _ what: String) throws
    /// In-place allreduce.
    func allreduce(_ p: UnsafeMutablePointer<Float>, count: Int, _ r: Reduction, _ what: String) throws
    func allreduce(_ p: UnsafeMutablePointer<Double>, count: Int, _ r: Reduction, _ what: String) throws
    /// Every rank's `values` (same count everywhere), concatenated in rank order, on `root` (empty elsewhere).
    func gather(_ values: [Double], root: Int, _ what: String) throws -> [Double]
    /// A new set for non-blocking in-place sums (gradient buckets).
    func pendingSums() -> PendingSums
}

/// Non-blocking in-place sums in flight, started in the same order on every rank.
public protocol PendingSums: AnyObject {
    /// Starts summing `count` floats at `p` over the ranks (the buffer must not be touched until `waitAll`).
    func start(_ p: UnsafeMutablePointer<Float>, count: Int, _ what: String) throws
    /// Drives progress of every pending sum without waiting.
    func progress() throws
    /// Completes every pending sum (bounded by the collectives' timeout) and forgets them.
    func waitAll() throws
    /// Releases helper threads (call when the owner goes away).
    func stop()
}

extension Collectives {
    /// In-place allreduce of doubles.
    public func allreduce(_ values: inout [Double], _ r: Reduction = .sum, _ what: String = "allreduce") throws {
        guard size > 1, !values.isEmpty else { return }
        let n = values.count
        try values.withUnsafeMutableBufferPointer { try allreduce($0.baseAddress!, count: n, r, what) }
    }
}
