import Foundation

extension LocalCollectives {
    /// One rank's side of a collective.
    struct Call {
        var kind: String
        var count: Int
        var floats: UnsafeMutablePointer<Float>? = nil
        var doubles: UnsafeMutablePointer<Double>? = nil
        var gather: GatherBox? = nil
        var what = ""
    }

    final class GatherBox {
        let values: [Double]
        var result: [Double] = []
        init(_ values: [Double]) { self.values = values }
    }

    /// The k-th collective of every rank.
    final class Slot {
        let size: Int
        var calls: [Int: Call] = [:]
        var done = false, departed = 0
        var error: String?
        init(size: Int) { self.size = size }
    }

    final class World {
        let size: Int
        let lock = NSCondition()
        /// Held by the rank that computes (never taken while holding `lock`).
        let turn = NSLock()
        var slots: [Int: Slot] = [:]
        init(size: Int) { self.size = size }
    }

    /// Registers this rank's call at its next position in the sequence; the last rank to arrive runs `complete`
    /// (unless the calls do not match). Returns the position, for `wait`.
    func arrive(_ call: Call, _ what: String, complete: ((Slot) -> Void)? = nil) throws -> Int {
        var call = call
        call.what = what
        let position = sequence
        sequence += 1
        world.lock.lock()
        defer { world.lock.unlock() }
        let slot = world.slots[position] ?? Slot(size: size)
        world.slots[position] = slot
        if let other = slot.calls.values.first, other.kind != call.kind || other.count != call.count {
            slot.error = "collective mismatch at position \(position): rank \(rank) called \(call.kind) of \(call.count) "
                + "(\(what)), another rank \(other.kind) of \(other.count) (\(other.what))"
        }
        slot.calls[rank] = call
        if slot.calls.count == size {
            if slot.error == nil { complete?(slot) }
            slot.done = true
            world.lock.broadcast()
        }
        return position
    }

    /// Waits until the collective at `position` is complete (bounded by `timeout`), then leaves it; hands the turn
    /// to the other ranks meanwhile.
    func wait(_ position: Int, _ what: String) throws {
        world.lock.lock()
        guard let slot = world.slots[position] else { world.lock.unlock(); return }
        let yielded = holdsTurn && !slot.done
        if yielded { world.turn.unlock() }
        defer { if yielded { world.turn.lock() } }  // after `lock` is released below: never both
        defer { world.lock.unlock() }
        let start = Date()
        while !slot.done {
            guard timeout > 0 else { world.lock.wait(); continue }
            if !world.lock.wait(until: start.addingTimeInterval(timeout)) && !slot.done {
                throw CollectiveError.timeout(CollectiveTimeout(
                    rank: rank, size: size, phase: phase, collective: what, seconds: Date().timeIntervalSince(start),
                    waiting: slot.calls.keys.sorted(), missing: (0..<size).filter { slot.calls[$0] == nil }, suspended: 0))
            }
        }
        slot.departed += 1
        if slot.departed == size { world.slots[position] = nil }
        if let e = slot.error { throw CollectiveError.mismatch(e) }
    }
}

/// Non-blocking sums of a `LocalCollectives` rank: each is a slot completed by the last rank to start it.
final class LocalPendingSums: PendingSums {
    let owner: LocalCollectives
    var positions: [(Int, String)] = []

    init(_ owner: LocalCollectives) { self.owner = owner }

    func start(_ p: UnsafeMutablePointer<Float>, count: Int, _ what: String) throws {
        let call = LocalCollectives.Call(kind: "allreduce sum (float)", count: count, floats: p)
        let position = try owner.arrive(call, what) { slot in LocalCollectives.combine(slot, count, .sum, \.floats) }
        positions.append((position, what))
    }

    /// Nothing to drive: the last rank to start a sum completes it.
    func progress() throws {}

    func waitAll() throws {
        for (position, what) in positions { try owner.wait(position, what) }
        positions.removeAll()
    }

    func stop() {}
}
