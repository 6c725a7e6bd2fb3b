import CMPI
import Foundation

extension Communicator {
    /// Tag of the stall reports on `reports`.
    static let stallTag: Int32 = 7301

    /// Completes `request` (the collective `what`): MPI_Wait without a timeout; with one, `poll`s MPI_Test.
    func complete(_ request: inout MPI_Request?, _ what: String) throws {
        guard timeout > 0 else {
            return try Self.check("MPI_Wait (\(what))", MPI_Wait(&request, bwma_mpi_status_ignore()))
        }
        try poll {
            var done: Int32 = 0
            try Self.check("MPI_Test (\(what))", MPI_Test(&request, &done, bwma_mpi_status_ignore()))
            return done != 0 ? nil : what
        }
    }

    /// Calls `pending` (nil once everything is complete, else the name of what is still pending) until it returns
    /// nil, yielding the core between calls so a waiting rank does not starve the kernel's network processing;
    /// throws `CollectiveTimeout` once `timeout` seconds have passed (never with 0).
    func poll(_ pending: () throws -> String?) throws {
        let start = Date()
        var last = start, suspended = 0.0
        while let what = try pending() {
            let now = Date()
            // A gap of seconds between two polls: this process itself was not running (SIGSTOP, a frozen VM).
            if now.timeIntervalSince(last) > 1 { suspended += now.timeIntervalSince(last) }
            last = now
            let waited = now.timeIntervalSince(start)
            if timeout > 0 && waited > timeout { throw stalled(what, waited: waited, suspended: suspended) }
            sched_yield()
        }
    }

    /// Tells every other rank that this one is stuck in `what`, listens for the same report from the others for a
    /// grace period (every live rank is stuck too: the collective needs them all), and names who never reported.
    func stalled(_ what: String, waited: Double, suspended: Double) -> CollectiveError {
        if suspended > 0 {  // this rank is the one the others missed: nothing to learn from them
            return .timeout(CollectiveTimeout(rank: rank, size: size, phase: phase, collective: what, seconds: waited,
                                              waiting: [], missing: [], suspended: suspended))
        }
        let grace = Swift.min(5, Swift.max(1, timeout / 2))
        var me = Int32(rank)
        var sends: [MPI_Request?] = []
        for r in 0..<size where r != rank {
            var req: MPI_Request? = bwma_mpi_request_null()
            if MPI_Isend(&me, 1, bwma_mpi_int(), Int32(r), Self.stallTag, reports, &req) == MPI_SUCCESS { sends.append(req) }
        }
        var heard: Set<Int> = [rank]
        let until = Date().addingTimeInterval(grace)
        while heard.count < size && Date() < until {
            var flag: Int32 = 0
            var status = MPI_Status()
            guard MPI_Iprobe(bwma_mpi_any_source(), Self.stallTag, reports, &flag, &status) == MPI_SUCCESS else { break }
            if flag == 0 { usleep(2_000); continue }
            var who: Int32 = -1
            MPI_Recv(&who, 1, bwma_mpi_int(), status.MPI_SOURCE, Self.stallTag, reports, bwma_mpi_status_ignore())
            if (0..<Int32(size)).contains(who) { heard.insert(Int(who)) }
        }
        _ = sends  // left pending: the job ends next
        return .timeout(CollectiveTimeout(rank: rank, size: size, phase: phase, collective: what, seconds: waited,
                                          waiting: heard.sorted(), missing: (0..<size).filter { !heard.contains($0) },
                                          suspended: suspended))
    }
}
