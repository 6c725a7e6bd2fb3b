import CDNNL

/// Intra-process parallelism for the kernels: work over a batch is split into `Parallel.threads` contiguous chunks.
///
/// Under MPI every rank runs with one thread (the launch scripts also pin OpenBLAS to one thread); a single process
/// may use all cores. Each chunk gets its index so kernels can give every worker its own scratch buffers.
///
/// The chunks run on OpenMP's thread team, the one oneDNN's primitives run on: between a oneDNN call and the engine's
/// own kernels no work moves to another pool of threads, so neither pool's idle threads spin on a core the other needs.
public enum Parallel {
    /// Worker count for the engine's own loops (>= 1): `EngineContext.threads`, set once at start-up.
    public static var threads: Int { EngineContext.threads }

    /// Runs `body(worker, range)` over `0..<n` split into at most `threads` contiguous chunks; returns when all are
    /// done. With one thread (or n < 2) it runs inline. A oneDNN call inside a chunk runs on its worker's thread
    /// alone (the chunks already use every core).
    @inline(__always)
    public static func chunks(_ n: Int, _ body: (_ worker: Int, _ range: Range<Int>) -> Void) {
        let t = Swift.min(EngineContext.threads, n)
        if t <= 1 {
            if n > 0 { body(0, 0..<n) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var job = Job(body: body, count: n)
            withUnsafeMutablePointer(to: &job) { GOMP_parallel(runChunk, $0, UInt32(t), 0) }
        }
    }

    /// What every member of the team reads: the loop body and its trip count (each member splits by the team's
    /// actual size, which OpenMP may make smaller than asked).
    private struct Job {
        let body: (Int, Range<Int>) -> Void
        let count: Int
    }

    private static let runChunk: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
        let job = raw.unsafelyUnwrapped.assumingMemoryBound(to: Job.self)
        let t = Int(omp_get_num_threads()), w = Int(omp_get_thread_num())
        let n = job.pointee.count
        let lo = n * w / t, hi = n * (w + 1) / t
        if hi > lo { DNNL.withThreads(1) { job.pointee.body(w, lo..<hi) } }
    }
}
