import TensorEngine

/// Averages the latent FP32 gradients of all ranks, bucket by bucket, overlapping communication with backward.
///
/// Parameters live in one arena in forward order, so a bucket of consecutive parameters is one contiguous range of
/// the gradient arena. Backward reports, after each top-level layer, the lowest arena offset whose gradient is
/// final (`ready(downTo:)`); every bucket entirely above it is launched as a non-blocking in-place allreduce, in
/// bucket order — the same order on every rank. `finish()` launches what is left, waits for all, and divides by the
/// world size. With `overlap` off, all buckets are launched at `finish()`.
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

    /// Launches the remaining buckets, waits for all, and averages.
    public func finish() throws {
        guard communicator.size > 1 else { return }
        let t0 = ProcessClock.now()
        while launched < buckets.count { try launchNext() }
        for r in requests { try r.wait() }
        lastWaitSeconds = ProcessClock.now() - t0
        ElementwiseKernels.scale(store.grads!, count: store.parameterCount, by: 1 / Float(communicator.size))
    }
}
