import CMPI

extension Communicator {
    /// Non-blocking collectives in flight, in launch order (GradientSync's buckets): `progress()` drives all of them
    /// (MPI_Testsome: Open MPI advances a non-blocking collective only inside MPI calls), `waitAll()` completes them
    /// under the communicator's timeout.
    public final class PendingCollectives {
        let communicator: Communicator
        var handles: [MPI_Request?] = []
        var names: [String] = []
        var indices: [Int32] = []

        init(_ communicator: Communicator) { self.communicator = communicator }

        public var count: Int { handles.count }

        /// Polls every request once; returns how many are still pending.
        @discardableResult
        public func progress() throws -> Int {
            guard !handles.isEmpty else { return 0 }
            var done: Int32 = 0
            if indices.count < handles.count { indices = [Int32](repeating: 0, count: handles.count) }
            try Communicator.check("MPI_Testsome", MPI_Testsome(Int32(handles.count), &handles, &done, &indices,
                                                                bwma_mpi_statuses_ignore()))
            return handles.filter { $0 != bwma_mpi_request_null() }.count
        }

        /// Completes every request, oldest first, and forgets them.
        public func waitAll() throws {
            for i in handles.indices { try communicator.complete(&handles[i], names[i]) }
            handles.removeAll(keepingCapacity: true)
            names.removeAll(keepingCapacity: true)
        }
    }

    public func pendingCollectives() -> PendingCollectives { PendingCollectives(self) }

    /// Starts an in-place sum of `count` floats, added to `pending` (nothing to do for a world of one).
    public func iallreduceSum(_ p: UnsafeMutablePointer<Float>, count: Int, _ what: String,
                              into pending: PendingCollectives) throws {
        guard usesMPI, count > 0 else { return }
        var h: MPI_Request? = bwma_mpi_request_null()
        try Self.check("MPI_Iallreduce", MPI_Iallreduce(bwma_mpi_in_place(), p, Int32(count), bwma_mpi_float(),
                                                        bwma_mpi_sum(), comm, &h))
        pending.handles.append(h)
        pending.names.append(what)
    }
}
