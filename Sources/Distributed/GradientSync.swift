import TensorEngine

/// Sums the latent FP32 gradients of all ranks, bucket by bucket, overlapping communication with backward. The
/// caller makes the sum an average by scaling the loss gradient by 1/R before backward (`TrainingStep` does): every
/// gradient is linear in it, so no extra pass over the gradients is needed.
///
/// Parameters live in one arena in forward order, so a bucket of consecutive parameters is one contiguous range of
/// the gradient arena. Backward reports, after each top-level layer, the lowest arena offset whose gradient is
/// final (`ready(downTo:)`); every bucket entirely above it is launched as a non-blocking in-place allreduce, in
/// bucket order — the same order on every rank. `finish()` reduces what is left with blocking allreduces (Open MPI's
/// blocking collectives are tuned; its non-blocking ones run at about half their bandwidth here) and waits for the
/// pending ones. With `overlap` off, every bucket is reduced at `finish()`.
public final class GradientSync {
    public let communicator: Communicator
    public let overlap: Bool
    let store: ParameterStore
    /// Arena offset ranges, first bucket (the last parameters) first.
    public let buckets: [Range<Int>]
    var launched = 0
    var requests: [Communicator.Request] = []
    /// Seconds spent in `finish()` waiting for communication in the last step.
    public private(set) var lastWaitSeconds = 0.0

    public init(store: ParameterStore, communicator: Communicator, capBytes: Int = Bucketing.defaultCapBytes,
                overlap: Bool = true) {
        self.store = store
        self.communicator = communicator
        self.overlap = overlap
        let params = store.parameters
        buckets = Bucketing.assign(sizes: params.map(\.count), capBytes: capBytes).map { r in
            params[r.lowerBound].offset..<(params[r.upperBound - 1].offset + params[r.upperBound - 1].count)
        }
    }

    /// Call before backward.
    public func beginStep() {
        launched = 0
        requests.removeAll(keepingCapacity: true)
    }

    /// Gradients at arena offsets ≥ `offset` are final: launch the buckets they complete.
    public func ready(downTo offset: Int) throws {
        guard overlap, communicator.size > 1 else { return }
        while launched < buckets.count && buckets[launched].lowerBound >= offset { try launchNext() }
        // Open MPI progresses non-blocking collectives only inside MPI calls: poll the oldest pending one.
        if let first = requests.first { _ = try first.test() }
    }

    func launchNext() throws {
        let r = buckets[launched]
        if let req = try communicator.iallreduceSum(store.grads! + r.lowerBound, count: r.count) { requests.append(req) }
        launched += 1
    }

    /// Reduces the remaining buckets and waits for the pending ones: afterwards every rank holds the sum.
    public func finish() throws {
        guard communicator.size > 1 else { return }
        let t0 = ProcessClock.now()
        for r in requests { try r.wait() }
        while launched < buckets.count {
            let r = buckets[launched]
            try communicator.allreduce(store.grads! + r.lowerBound, count: r.count)
            launched += 1
        }
        lastWaitSeconds = ProcessClock.now() - t0
    }
}
