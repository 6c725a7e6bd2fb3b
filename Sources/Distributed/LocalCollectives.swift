import Foundation

/// `Collectives` over N simulated ranks in one process, each rank a thread: the in-process fake that lets
/// GradientSync, StepGuard, synchronised batch norm and the timeout be unit-tested without mpirun.
///
/// The ranks' k-th collective calls meet in one slot: the last to arrive combines the buffers in rank order (so
/// results are deterministic) and writes them back into every rank's buffer, as an in-place MPI collective does.
/// Calls that do not match (another operation or count at the same position) throw, naming both — the ordering
/// mistake MPI would turn into a hang or garbage. A slot that is not complete within `timeout` throws
/// `CollectiveError.timeout` naming the ranks that never arrived. Ranks started by `run` take turns: one computes at a
/// time and hands over while it waits in a collective, because the engine keeps per-process scratch (one process
/// runs one rank) — the simulated ranks interleave like processes on one core.
public final class LocalCollectives: Collectives, @unchecked Sendable {  // shared state guarded by `world.lock`
    public let rank: Int
    public var size: Int { world.size }
    public var timeout: Double = 0
    public var phase = "start-up"
    let world: World
    /// This rank's count of collectives so far (its position in the shared sequence).
    var sequence = 0
    /// Whether this rank holds the world's turn (ranks started by `run`).
    var holdsTurn = false

    /// N ranks sharing one world; hand rank r to thread r.
    public static func world(size: Int) -> [LocalCollectives] {
        precondition(size >= 1, "a world needs at least one rank")
        let w = World(size: size)
        return (0..<size).map { LocalCollectives(rank: $0, world: w) }
    }

    init(rank: Int, world: World) { self.rank = rank; self.world = world }

    /// Runs `body(rank)` on one thread per rank and returns when all are done (rethrowing the first error). Real
    /// threads, not a worker pool: every rank must run at once, since a collective waits for all of them.
    public static func run(size: Int, _ body: @escaping @Sendable (LocalCollectives) throws -> Void) throws {
        let ranks = world(size: size)
        let errors = ErrorBox()
        let done = DispatchGroup()
        for r in 0..<size {
            done.enter()
            let rank = ranks[r]
            Thread {
                rank.world.turn.lock()
                rank.holdsTurn = true
                do { try body(rank) } catch { errors.set(error) }
                rank.holdsTurn = false
                rank.world.turn.unlock()
                done.leave()
            }.start()
        }
        done.wait()
        if let e = errors.first { throw e }
    }

    /// Sendable (unchecked): each rank thread writes only its own slot; read after all have joined.
    final class ErrorBox: @unchecked Sendable {
        let lock = NSLock()
        var first: Error?
        func set(_ e: Error) { lock.lock(); if first == nil { first = e }; lock.unlock() }
    }

    // MARK: - Collectives

    public func barrier(_ what: String) throws {
        try wait(arrive(.init(kind: "barrier", count: 0), what), what)
    }

    public func broadcast(_ p: UnsafeMutablePointer<Float>, count: Int, root: Int, _ what: String) throws {
        try wait(arrive(.init(kind: "broadcast from \(root)", count: count, floats: p), what) { slot in
            let src = slot.calls[root]!.floats!
            for c in slot.calls.values where c.floats != src { c.floats!.update(from: src, count: count) }
        }, what)
    }

    public func allreduce(_ p: UnsafeMutablePointer<Float>, count: Int, _ r: Reduction, _ what: String) throws {
        try wait(arrive(.init(kind: "allreduce \(r) (float)", count: count, floats: p), what) { slot in
            Self.combine(slot, count, r, \.floats)
        }, what)
    }

    public func allreduce(_ p: UnsafeMutablePointer<Double>, count: Int, _ r: Reduction, _ what: String) throws {
        try wait(arrive(.init(kind: "allreduce \(r) (double)", count: count, doubles: p), what) { slot in
            Self.combine(slot, count, r, \.doubles)
        }, what)
    }

    public func gather(_ values: [Double], root: Int, _ what: String) throws -> [Double] {
        let box = GatherBox(values)
        try wait(arrive(.init(kind: "gather to \(root)", count: values.count, gather: box), what) { slot in
            let all = (0..<slot.size).flatMap { slot.calls[$0]!.gather!.values }
            slot.calls[root]!.gather!.result = all
        }, what)
        return rank == root ? box.result : []
    }

    public func pendingSums() -> PendingSums { LocalPendingSums(self) }

    /// Sums (or maxima) of every rank's buffer in rank order, written back to all.
    static func combine<T: BinaryFloatingPoint>(_ slot: Slot, _ count: Int, _ r: Reduction,
                                                _ key: KeyPath<Call, UnsafeMutablePointer<T>?>) {
        let buffers = (0..<slot.size).map { slot.calls[$0]![keyPath: key]! }
        for i in 0..<count {
            var acc = buffers[0][i]
            for b in buffers.dropFirst() { acc = r == .sum ? acc + b[i] : Swift.max(acc, b[i]) }
            for b in buffers { b[i] = acc }
        }
    }
}
