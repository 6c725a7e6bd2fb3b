import CMPI
import Foundation

/// The processes of a job: rank, size and the collectives the trainer needs, over MPI_COMM_WORLD.
///
/// Started by `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE`; PMI-based launchers `PMI_SIZE`/`PMIX_RANK`) the
/// communicator initialises MPI; started alone it is a world of one whose collectives are no-ops, and MPI is never
/// touched. MPI errors are returned (`MPI_ERRORS_RETURN`) and thrown as `CollectiveError.mpi`, never ignored.
///
/// Sendable (unchecked): the MPI handles are immutable; collectives are called from the training thread (and the
/// request helper only with MPI_THREAD_MULTIPLE, through `PendingCollectives`' lock); `timeout`/`phase` are set
/// between collectives by the same thread.
public final class Communicator: Collectives, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// Whether MPI was initialised (false for a world of one started without a launcher).
    public let usesMPI: Bool
    /// The MPI communicator (MPI_COMM_WORLD, or a group from `split`); unused without MPI.
    let handle: MPI_Comm?
    /// A duplicate of `handle` for the timeout's stall reports (they never match a collective's traffic).
    let reports: MPI_Comm?
    /// Collective timeout in seconds (0 = wait forever): a collective that has not completed in this time throws
    /// `CollectiveError.timeout` on every rank still running (`Communicator+Timeout.swift`).
    public var timeout: Double = 0
    /// Where the job is, for timeout messages ("step 14 (epoch 2)"); set by the trainer.
    public var phase = "start-up"

    nonisolated(unsafe) private static var shared: Communicator?
    /// Whether MPI granted MPI_THREAD_MULTIPLE (any thread may call MPI at any time).
    nonisolated(unsafe) public private(set) static var threadMultiple = false

    /// The world communicator (initialises MPI on first use when launched by mpirun).
    public static func world() throws -> Communicator {
        if let c = shared { return c }
        let env = ProcessInfo.processInfo.environment
        let launched = env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMI_SIZE"] != nil || env["PMIX_RANK"] != nil
        let c = launched ? try Communicator(initializing: ()) : try Communicator(rank: 0, size: 1, usesMPI: false)
        shared = c
        return c
    }

    private init(rank: Int, size: Int, usesMPI: Bool, handle: MPI_Comm? = nil) throws {
        self.rank = rank; self.size = size; self.usesMPI = usesMPI; self.handle = handle
        var dup: MPI_Comm?
        if let handle {
            try Self.check("MPI_Comm_dup", MPI_Comm_dup(handle, &dup))
            try Self.check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(dup, bwma_mpi_errors_return()))
        }
        reports = dup
    }

    private convenience init(initializing: Void) throws {
        // MPI_THREAD_MULTIPLE lets a helper thread drive the gradient buckets' non-blocking allreduces while the
        // main thread computes (`PendingCollectives`); where the library does not provide it, the main thread alone
        // drives them.
        var provided: Int32 = 0
        try Communicator.check("MPI_Init_thread", MPI_Init_thread(nil, nil, Int32(MPI_THREAD_MULTIPLE), &provided))
        Self.threadMultiple = provided >= Int32(MPI_THREAD_MULTIPLE)
        try Communicator.check("MPI_Comm_set_errhandler",
                               MPI_Comm_set_errhandler(bwma_mpi_comm_world(), bwma_mpi_errors_return()))
        var r: Int32 = 0, s: Int32 = 0
        try Communicator.check("MPI_Comm_rank", MPI_Comm_rank(bwma_mpi_comm_world(), &r))
        try Communicator.check("MPI_Comm_size", MPI_Comm_size(bwma_mpi_comm_world(), &s))
        try self.init(rank: Int(r), size: Int(s), usesMPI: true, handle: bwma_mpi_comm_world())
    }

    /// The ranks of this communicator with the same `color`, ordered by `key` (then by rank): `MPI_Comm_split`.
    /// Every rank must call it. Without MPI the result is again a world of one.
    public func split(color: Int, key: Int) throws -> Communicator {
        guard usesMPI else { return try Communicator(rank: 0, size: 1, usesMPI: false) }
        var sub: MPI_Comm?
        try Self.check("MPI_Comm_split", MPI_Comm_split(comm, Int32(color), Int32(key), &sub))
        try Self.check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(sub, bwma_mpi_errors_return()))
        var r: Int32 = 0, n: Int32 = 0
        try Self.check("MPI_Comm_rank", MPI_Comm_rank(sub, &r))
        try Self.check("MPI_Comm_size", MPI_Comm_size(sub, &n))
        return try Communicator(rank: Int(r), size: Int(n), usesMPI: true, handle: sub)
    }

    /// The MPI handle of this communicator.
    var comm: MPI_Comm { handle! }

    static func check(_ call: String, _ rc: Int32) throws {
        guard rc != MPI_SUCCESS else { return }
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(rc, &buffer, &length)
        let text = buffer.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }
        throw CollectiveError.mpi(call: call, code: rc, message: String(decoding: text, as: UTF8.self))
    }

    /// Shuts MPI down (call once, at exit, on every rank).
    public func finalize() {
        if usesMPI { MPI_Finalize() }
    }

    /// Ends the whole job (every rank) with `code` — the way out when one rank fails.
    public func abort(_ code: Int32) -> Never {
        if usesMPI { MPI_Abort(bwma_mpi_comm_world(), code) }  // the whole job, whichever group failed
        exit(code)
    }

    // MARK: - Collectives
    //
    // Every collective takes a name for timeout messages. Without a timeout they are MPI's blocking calls; with one,
    // the non-blocking form completed by `complete(_:_:)`, which polls until the deadline.

    /// Runs one collective: `blocking` without a timeout, else `start` and a deadline-bounded wait.
    func collective(_ what: String, _ call: String, blocking: () -> Int32,
                    start: (UnsafeMutablePointer<MPI_Request?>) -> Int32) throws {
        guard timeout > 0 else { return try Self.check(call, blocking()) }
        var request: MPI_Request? = bwma_mpi_request_null()
        try Self.check(call, start(&request))
        try complete(&request, what)
    }

    public func barrier(_ what: String = "barrier") throws {
        guard usesMPI else { return }
        try collective(what, "MPI_Barrier", blocking: { MPI_Barrier(comm) }, start: { MPI_Ibarrier(comm, $0) })
    }

    /// Broadcasts `count` floats from `root` into every rank's buffer.
    public func broadcast(_ p: UnsafeMutablePointer<Float>, count: Int, root: Int = 0,
                          _ what: String = "broadcast") throws {
        guard usesMPI, count > 0 else { return }
        let (n, f, r) = (Int32(count), bwma_mpi_float(), Int32(root))
        try collective(what, "MPI_Bcast", blocking: { MPI_Bcast(p, n, f, r, comm) },
                       start: { MPI_Ibcast(p, n, f, r, comm, $0) })
    }

    /// Broadcasts bytes from `root` (same length on every rank).
    public func broadcast(bytes: inout [UInt8], root: Int = 0, _ what: String = "broadcast") throws {
        guard usesMPI, !bytes.isEmpty else { return }
        let (n, b, r) = (Int32(bytes.count), bwma_mpi_byte(), Int32(root))
        try bytes.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress
            try collective(what, "MPI_Bcast", blocking: { MPI_Bcast(p, n, b, r, comm) },
                           start: { MPI_Ibcast(p, n, b, r, comm, $0) })
        }
    }

    public typealias Reduction = Distributed.Reduction

    func op(_ r: Reduction) -> MPI_Op { r == .sum ? bwma_mpi_sum() : bwma_mpi_max() }

    /// In-place allreduce of `count` elements of `type` at `p`.
    func allreduce(_ p: UnsafeMutableRawPointer, count: Int, _ type: MPI_Datatype?, _ r: Reduction,
                   _ what: String) throws {
        guard usesMPI, count > 0 else { return }
        let (n, o, inPlace) = (Int32(count), op(r), bwma_mpi_in_place())
        try collective(what, "MPI_Allreduce", blocking: { MPI_Allreduce(inPlace, p, n, type, o, comm) },
                       start: { MPI_Iallreduce(inPlace, p, n, type, o, comm, $0) })
    }

    /// In-place allreduce of floats.
    public func allreduce(_ p: UnsafeMutablePointer<Float>, count: Int, _ r: Reduction = .sum,
                          _ what: String = "allreduce") throws {
        try allreduce(UnsafeMutableRawPointer(p), count: count, bwma_mpi_float(), r, what)
    }

    /// In-place allreduce of `count` doubles.
    public func allreduce(_ p: UnsafeMutablePointer<Double>, count: Int, _ r: Reduction = .sum,
                          _ what: String = "allreduce") throws {
        try allreduce(UnsafeMutableRawPointer(p), count: count, bwma_mpi_double(), r, what)
    }

    /// In-place allreduce of integers.
    public func allreduce(_ values: inout [Int64], _ r: Reduction = .sum, _ what: String = "allreduce") throws {
        guard usesMPI, !values.isEmpty else { return }
        let n = values.count
        try values.withUnsafeMutableBufferPointer {
            try allreduce(UnsafeMutableRawPointer($0.baseAddress!), count: n, bwma_mpi_int64(), r, what)
        }
    }

    /// Every rank's `values` (same count everywhere), concatenated in rank order, on `root` (empty elsewhere).
    public func gather(_ values: [Double], root: Int = 0, _ what: String = "gather") throws -> [Double] {
        guard usesMPI else { return values }
        var out = [Double](repeating: 0, count: rank == root ? values.count * size : 0)
        let (n, d, r) = (Int32(values.count), bwma_mpi_double(), Int32(root))
        try values.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                let (s, o) = (src.baseAddress, dst.baseAddress)
                try collective(what, "MPI_Gather", blocking: { MPI_Gather(s, n, d, o, n, d, r, comm) },
                               start: { MPI_Igather(s, n, d, o, n, d, r, comm, $0) })
            }
        }
        return out
    }
}
