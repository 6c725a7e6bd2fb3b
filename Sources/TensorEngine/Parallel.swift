import CDNNL

/// Intra-process parallelism for the kernels: work over a batch is split into `Parallel.threads` contiguous chunks
/// (`chunks`), or handed out in smaller pieces as workers become free (`pieces`).
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

    /// Pieces per worker that `pieces` aims for: enough that a worker slowed for a while (a vCPU whose host core is
    /// busy elsewhere, another process's threads) hands its share's end to the other, few enough that taking one
    /// (an atomic add) stays a small cost of it.
    static let piecesPerWorker = 8

    /// Runs `body(worker, range)` over `0..<n`: each worker runs its own contiguous share (as in `chunks`, so
    /// consecutive passes find their data in the same core's caches) in pieces of about n / (threads · 8), and a
    /// worker done with its share takes the pieces the others have not started yet. Returns when all are done.
    /// Pieces are multiples of `multiple` long but the last, so a vector kernel's scalar tail only ever runs at the
    /// end of the range, as with one thread.
    ///
    /// For loops whose results do not depend on which worker ran which piece or in which order: elementwise passes,
    /// sums per sample or per channel written to their own slots. A worker may run several pieces: `worker` may pick
    /// its scratch memory, never a partial result that is summed afterwards (those need `chunks`, whose split is
    /// fixed).
    @inline(__always)
    public static func pieces(_ n: Int, multiple: Int = 1, _ body: (_ worker: Int, _ range: Range<Int>) -> Void) {
        let t = Swift.min(EngineContext.threads, n)
        if t <= 1 {
            if n > 0 { body(0, 0..<n) }
            return
        }
        let m = Swift.max(1, multiple), even = Swift.max(1, n / (t * piecesPerWorker))
        // One counter per worker, a cache line (8 words) apart: the start of its share's next piece.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 8 * t) { next in
            for w in 0..<t { next[8 * w] = share(n, w, t, m).lowerBound }
            withoutActuallyEscaping(body) { body in
                var job = Job(body: body, count: n, piece: (even + m - 1) / m * m, multiple: m, shares: t,
                              next: next.baseAddress)
                withUnsafeMutablePointer(to: &job) { GOMP_parallel(runPieces, $0, UInt32(t), 0) }
            }
        }
    }

    /// Worker w's share of 0..<n among t: bounds on multiples of m.
    @inline(__always)
    static func share(_ n: Int, _ w: Int, _ t: Int, _ m: Int) -> Range<Int> {
        let units = (n + m - 1) / m
        return Swift.min(n, units * w / t * m)..<Swift.min(n, units * (w + 1) / t * m)
    }

    /// What every member of the team reads: the loop body and its trip count (each member of `chunks` splits by the
    /// team's actual size, which OpenMP may make smaller than asked); for `pieces`, the pieces' size and multiple,
    /// the number of shares and their counters.
    private struct Job {
        let body: (Int, Range<Int>) -> Void
        let count: Int
        var piece = 0, multiple = 1, shares = 1
        var next: UnsafeMutablePointer<Int>? = nil
    }

    private static let runChunk: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
        let job = raw.unsafelyUnwrapped.assumingMemoryBound(to: Job.self)
        let t = Int(omp_get_num_threads()), w = Int(omp_get_thread_num())
        let n = job.pointee.count
        let lo = n * w / t, hi = n * (w + 1) / t
        if hi > lo { DNNL.withThreads(1) { job.pointee.body(w, lo..<hi) } }
    }

    /// A member of `pieces`'s team: its own share, then the others' (the team may be smaller than asked: the
    /// shares of members that never started are taken the same way).
    private static let runPieces: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
        let job = raw.unsafelyUnwrapped.assumingMemoryBound(to: Job.self).pointee
        let w = Int(omp_get_thread_num()), next = job.next.unsafelyUnwrapped, t = job.shares
        DNNL.withThreads(1) {
            for k in 0..<t {
                let v = (w + k) % t, end = share(job.count, v, t, job.multiple).upperBound
                while true {
                    let lo = bwma_take(next + 8 * v, job.piece)
                    if lo >= end { break }
                    job.body(w, lo..<Swift.min(lo + job.piece, end))
                }
            }
        }
    }
}
