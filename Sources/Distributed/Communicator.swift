import CMPI
import Foundation

/// An MPI failure, with MPI's own message and the call that failed.
public struct MPIError: Error, CustomStringConvertible {
    public let call: String
    public let code: Int32
    public let message: String
    public var description: String { "MPI error in \(call): \(message) (code \(code))" }
}

/// The processes of a job: rank, size and the collectives the trainer needs, over MPI_COMM_WORLD.
///
/// Started by `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE`; PMI-based launchers `PMI_SIZE`/`PMIX_RANK`) the
/// communicator initialises MPI; started alone it is a world of one whose collectives are no-ops, and MPI is never
/// touched. MPI errors are returned (`MPI_ERRORS_RETURN`) and thrown as `MPIError`, never ignored.
public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// Whether MPI was initialised (false for a world of one started without a launcher).
    public let usesMPI: Bool
    /// The MPI communicator (MPI_COMM_WORLD, or a group from `split`); unused without MPI.
    let handle: MPI_Comm?

    nonisolated(unsafe) private static var shared: Communicator?

    /// The world communicator (initialises MPI on first use when launched by mpirun).
    public static func world() throws -> Communicator {
        if let c = shared { return c }
        let env = ProcessInfo.processInfo.environment
        let launched = env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMI_SIZE"] != nil || env["PMIX_RANK"] != nil
        let c = launched ? try Communicator(initializing: ()) : Communicator(rank: 0, size: 1, usesMPI: false)
        shared = c
        return c
    }

    private init(rank: Int, size: Int, usesMPI: Bool, handle: MPI_Comm? = nil) {
        self.rank = rank; self.size = size; self.usesMPI = usesMPI; self.handle = handle
    }

    private convenience init(initializing: Void) throws {
        var provided: Int32 = 0
        try Communicator.check("MPI_Init_thread", MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided))
        try Communicator.check("MPI_Comm_set_errhandler",
                               MPI_Comm_set_errhandler(bwma_mpi_comm_world(), bwma_mpi_errors_return()))
        var r: Int32 = 0, s: Int32 = 0
        try Communicator.check("MPI_Comm_rank", MPI_Comm_rank(bwma_mpi_comm_world(), &r))
        try Communicator.check("MPI_Comm_size", MPI_Comm_size(bwma_mpi_comm_world(), &s))
        self.init(rank: Int(r), size: Int(s), usesMPI: true, handle: bwma_mpi_comm_world())
    }

    /// The ranks of this communicator with the same `color`, ordered by `key` (then by rank): `MPI_Comm_split`.
    /// Every rank must call it. Without MPI the result is again a world of one.
    public func split(color: Int, key: Int) throws -> Communicator {
        guard usesMPI else { return Communicator(rank: 0, size: 1, usesMPI: false) }
        var sub: MPI_Comm?
        try Self.check("MPI_Comm_split", MPI_Comm_split(comm, Int32(color), Int32(key), &sub))
        try Self.check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(sub, bwma_mpi_errors_return()))
        var r: Int32 = 0, n: Int32 = 0
        try Self.check("MPI_Comm_rank", MPI_Comm_rank(sub, &r))
        try Self.check("MPI_Comm_size", MPI_Comm_size(sub, &n))
        return Communicator(rank: Int(r), size: Int(n), usesMPI: true, handle: sub)
    }

    /// The MPI handle of this communicator.
    var comm: MPI_Comm { handle! }

    static func check(_ call: String, _ rc: Int32) throws {
        guard rc != MPI_SUCCESS else { return }
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(rc, &buffer, &length)
        let text = buffer.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }
        throw MPIError(call: call, code: rc, message: String(decoding: text, as: UTF8.self))
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

    public func barrier() throws {
        guard usesMPI else { return }
        try Self.check("MPI_Barrier", MPI_Barrier(comm))
    }

    /// Broadcasts `count` floats from `root` into every rank's buffer.
    public func broadcast(_ p: UnsafeMutablePointer<Float>, count: Int, root: Int = 0) throws {
        guard usesMPI, count > 0 else { return }
        try Self.check("MPI_Bcast", MPI_Bcast(p, Int32(count), bwma_mpi_float(), Int32(root), comm))
    }

    /// Broadcasts bytes from `root` (same length on every rank).
    public func broadcast(bytes: inout [UInt8], root: Int = 0) throws {
        guard usesMPI, !bytes.isEmpty else { return }
        let n = bytes.count
        try bytes.withUnsafeMutableBytes {
            try Self.check("MPI_Bcast", MPI_Bcast($0.baseAddress, Int32(n), bwma_mpi_byte(), Int32(root),
                                                  comm))
        }
    }

    public enum Reduction { case sum, max }

    func op(_ r: Reduction) -> MPI_Op { r == .sum ? bwma_mpi_sum() : bwma_mpi_max() }

    /// In-place allreduce of floats.
    public func allreduce(_ p: UnsafeMutablePointer<Float>, count: Int, _ r: Reduction = .sum) throws {
        guard usesMPI, count > 0 else { return }
        try Self.check("MPI_Allreduce", MPI_Allreduce(bwma_mpi_in_place(), p, Int32(count), bwma_mpi_float(), op(r),
                                                      comm))
    }

    /// In-place allreduce of `count` doubles.
    public func allreduce(_ p: UnsafeMutablePointer<Double>, count: Int, _ r: Reduction = .sum) throws {
        guard usesMPI, count > 0 else { return }
        try Self.check("MPI_Allreduce", MPI_Allreduce(bwma_mpi_in_place(), p, Int32(count), bwma_mpi_double(), op(r),
                                                      comm))
    }

    /// In-place allreduce of doubles.
    public func allreduce(_ values: inout [Double], _ r: Reduction = .sum) throws {
        guard usesMPI, !values.isEmpty else { return }
        let n = values.count
        try values.withUnsafeMutableBufferPointer {
            try Self.check("MPI_Allreduce", MPI_Allreduce(bwma_mpi_in_place(), $0.baseAddress, Int32(n),
                                                          bwma_mpi_double(), op(r), comm))
        }
    }

    /// In-place allreduce of integers.
    public func allreduce(_ values: inout [Int64], _ r: Reduction = .sum) throws {
        guard usesMPI, !values.isEmpty else { return }
        let n = values.count
        try values.withUnsafeMutableBufferPointer {
            try Self.check("MPI_Allreduce", MPI_Allreduce(bwma_mpi_in_place(), $0.baseAddress, Int32(n),
                                                          bwma_mpi_int64(), op(r), comm))
        }
    }

    /// Every rank's `values` (same count everywhere), concatenated in rank order, on `root` (empty elsewhere).
    public func gather(_ values: [Double], root: Int = 0) throws -> [Double] {
        guard usesMPI else { return values }
        var out = [Double](repeating: 0, count: rank == root ? values.count * size : 0)
        try values.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                try Self.check("MPI_Gather", MPI_Gather(src.baseAddress, Int32(values.count), bwma_mpi_double(),
                                                        dst.baseAddress, Int32(values.count), bwma_mpi_double(),
                                                        Int32(root), comm))
            }
        }
        return out
    }

    // MARK: - Non-blocking

    /// A pending non-blocking collective.
    public final class Request {
        var handle: MPI_Request?
        init(_ h: MPI_Request?) { handle = h }

        /// Waits for completion.
        public func wait() throws {
            try Communicator.check("MPI_Wait", MPI_Wait(&handle, bwma_mpi_status_ignore()))
        }

        /// Polls (and drives progress); true once complete.
        public func test() throws -> Bool {
            var done: Int32 = 0
            try Communicator.check("MPI_Test", MPI_Test(&handle, &done, bwma_mpi_status_ignore()))
            return done != 0
        }
    }

    /// Starts an in-place sum of `count` floats; nil for a world of one (nothing to do).
    public func iallreduceSum(_ p: UnsafeMutablePointer<Float>, count: Int) throws -> Request? {
        guard usesMPI, count > 0 else { return nil }
        var h: MPI_Request? = bwma_mpi_request_null()
        try Self.check("MPI_Iallreduce", MPI_Iallreduce(bwma_mpi_in_place(), p, Int32(count), bwma_mpi_float(),
                                                        bwma_mpi_sum(), comm, &h))
        return Request(h)
    }
}
