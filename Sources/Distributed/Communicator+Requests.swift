import CMPI
import Foundation

extension Communicator {
    /// Non-blocking collectives in flight, in launch order (GradientSync's buckets). Open MPI advances a
    /// non-blocking collective only inside MPI calls, and one bucket's ring allreduce needs many such calls; so where
    /// MPI granted MPI_THREAD_MULTIPLE a helper thread polls every pending request (MPI_Testsome) every 100 µs
    /// while any is pending and sleeps otherwise — the role of PyTorch's communication threads. `progress()` polls
    /// from the caller too; `waitAll()` completes them under the communicator's timeout.
    public final class PendingCollectives: PendingSums, @unchecked Sendable {  // state guarded by `lock`
        let communicator: Communicator
        var handles: [MPI_Request?] = []
        var names: [String] = []
        var indices: [Int32] = []
        let lock = NSCondition()
        var stopped = false
        var poller: Thread?
        /// Microseconds between the helper thread's polls.
        static let interval: useconds_t = 100

        init(_ communicator: Communicator, background: Bool) {
            self.communicator = communicator
            guard background else { return }
            let t = Thread { [weak self] in self?.poll() }
            t.name = "bwma-mpi-progress"
            poller = t
            t.start()
        }

        deinit { stop() }

        /// Ends the helper thread (it holds no request of its own).
        public func stop() {
            lock.lock()
            stopped = true
            lock.broadcast()
            lock.unlock()
        }

        public var count: Int { lock.lock(); defer { lock.unlock() }; return handles.count }

        public func start(_ p: UnsafeMutablePointer<Float>, count: Int, _ what: String) throws {
            try communicator.iallreduceSum(p, count: count, what, into: self)
        }

        func poll() {
            while true {
                lock.lock()
                while !stopped && !hasPending { lock.wait() }
                if stopped { lock.unlock(); return }
                _ = try? testSome()
                lock.unlock()
                usleep(Self.interval)
            }
        }

        var hasPending: Bool { handles.contains { $0 != bwma_mpi_request_null() } }

        /// MPI_Testsome over every request; the caller holds `lock`.
        func testSome() throws {
            guard !handles.isEmpty else { return }
            var done: Int32 = 0
            if indices.count < handles.count { indices = [Int32](repeating: 0, count: handles.count) }
            try Communicator.check("MPI_Testsome", MPI_Testsome(Int32(handles.count), &handles, &done, &indices,
                                                                bwma_mpi_statuses_ignore()))
        }

        func add(_ h: MPI_Request?, _ name: String) {
            lock.lock()
            handles.append(h)
            names.append(name)
            lock.broadcast()
            lock.unlock()
        }

        /// Polls every request once.
        public func progress() throws {
            lock.lock()
            defer { lock.unlock() }
            try testSome()
        }

        /// Polls once; nil (and every request forgotten) when all are complete, else the oldest pending one's name.
        /// MPI errors are thrown.
        func pollPending() throws -> String? {
            lock.lock()
            defer { lock.unlock() }
            try testSome()
            guard let i = handles.firstIndex(where: { $0 != bwma_mpi_request_null() }) else {
                handles.removeAll(keepingCapacity: true)
                names.removeAll(keepingCapacity: true)
                return nil
            }
            return names[i]
        }

        /// Completes every request, oldest first, and forgets them. Bounded by the communicator's timeout.
        public func waitAll() throws {
            try communicator.poll { try pollPending() }
        }
    }

    /// Non-blocking collectives on this communicator, driven by a helper thread where MPI allows it.
    public func pendingCollectives() -> PendingCollectives {
        PendingCollectives(self, background: usesMPI && Self.threadMultiple)
    }

    public func pendingSums() -> PendingSums { pendingCollectives() }

    /// Starts an in-place sum of `count` floats, added to `pending` (nothing to do for a world of one).
    public func iallreduceSum(_ p: UnsafeMutablePointer<Float>, count: Int, _ what: String,
                              into pending: PendingCollectives) throws {
        guard usesMPI, count > 0 else { return }
        var h: MPI_Request? = bwma_mpi_request_null()
        try Self.check("MPI_Iallreduce", MPI_Iallreduce(bwma_mpi_in_place(), p, Int32(count), bwma_mpi_float(),
                                                        bwma_mpi_sum(), comm, &h))
        pending.add(h, what)
    }
}
