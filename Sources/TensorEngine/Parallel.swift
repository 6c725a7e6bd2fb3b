import Dispatch

/// Intra-process parallelism for the kernels: work over a batch is split into `Parallel.threads` contiguous chunks.
///
/// Under MPI every rank runs with one thread (the launch scripts also pin OpenBLAS to one thread); a single process
/// may use all cores. Each chunk gets its index so kernels can give every worker its own scratch buffers.
public enum Parallel {
    /// Worker count for the engine's own loops (>= 1): `EngineContext.threads`, set once at start-up.
    public static var threads: Int { EngineContext.threads }

    /// Runs `body(worker, range)` over `0..<n` split into at most `threads` contiguous chunks; returns when all are
    /// done. With one thread (or n < 2) it runs inline. A oneDNN call inside a chunk runs on its worker's thread
    /// alone (the chunks already use every core; an OpenMP team per worker would oversubscribe them).
    @inline(__always)
    public static func chunks(_ n: Int, _ body: (_ worker: Int, _ range: Range<Int>) -> Void) {
        let t = Swift.min(EngineContext.threads, n)
        if t <= 1 {
            if n > 0 { body(0, 0..<n) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // The kernels hand disjoint ranges to the workers; the box only tells the compiler so.
            let task = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: t) { w in
                let lo = n * w / t, hi = n * (w + 1) / t
                if hi > lo { DNNL.withThreads(1) { task.value(w, lo..<hi) } }
            }
        }
    }
}

/// Carries a value into a `@Sendable` closure where the caller guarantees data-race freedom (disjoint ranges).
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
