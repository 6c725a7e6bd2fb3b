import Distributed
import TensorEngine

/// Allreduce throughput per message size through the Communicator (one in-place MPI_Allreduce), through
/// GradientSync without overlap (buckets of ≤ `bucketBytes` reduced after backward) and through GradientSync's
/// overlap path (every bucket launched as MPI_Iallreduce, then waited for: the trainer's default).
public enum AllreduceBenchmark {
    public struct Row: Codable, Sendable {
        public var bytes: Int
        public var communicator_ms: Double
        public var gradient_sync_ms: Double
        /// The non-blocking path (MPI_Iallreduce per bucket).
        public var overlapped_ms: Double
        /// Bytes reduced per second of wall time (algorithm bandwidth), GB/s.
        public var communicator_gbps: Double
        public var gradient_sync_gbps: Double
        public var overlapped_gbps: Double
        /// `gradient_sync_gbps / communicator_gbps`.
        public var sync_vs_communicator: Double
    }

    public static func run(communicator comm: Communicator, sizes: [Int], iterations: Int,
                           bucketBytes: Int = Bucketing.defaultCapBytes) throws -> [Row] {
        var rows: [Row] = []
        for bytes in sizes {
            let n = Swift.max(bytes / 4, 1)
            // A parameter store of n floats in 4 equal "layers", as a model's gradient arena.
            let store = ParameterStore()
            for i in 0..<4 { _ = store.parameter("p\(i)", shape: [n / 4 + (i < n % 4 ? 1 : 0)]) }
            store.finalize()
            let g = store.grads
            for i in 0..<n { g[i] = Float(i % 7) }
            let sync = GradientSync(store: store, communicator: comm, capBytes: bucketBytes, firstCapBytes: nil,
                                    overlap: false)
            let overlapped = GradientSync(store: store, communicator: comm, capBytes: bucketBytes, firstCapBytes: nil,
                                          overlap: true)
            func time(_ body: () throws -> Void) throws -> Double {
                try body()  // warm-up
                try comm.barrier()
                let t0 = ProcessClock.now()
                for _ in 0..<iterations { try body() }
                var t = [ProcessClock.now() - t0]
                try comm.allreduce(&t, .max)
                return t[0] / Double(iterations)
            }
            let direct = try time { try comm.allreduce(g, count: n) }
            let bucketed = try time { sync.beginStep(); try sync.finish() }
            let nonBlocking = try time {
                overlapped.beginStep(); try overlapped.ready(downTo: 0); try overlapped.finish()
            }
            let b = Double(n * 4)
            rows.append(Row(bytes: n * 4, communicator_ms: direct * 1000, gradient_sync_ms: bucketed * 1000,
                            overlapped_ms: nonBlocking * 1000, communicator_gbps: b / direct / 1e9,
                            gradient_sync_gbps: b / bucketed / 1e9, overlapped_gbps: b / nonBlocking / 1e9,
                            sync_vs_communicator: direct / bucketed))
        }
        return rows
    }
}
