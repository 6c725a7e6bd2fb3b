import TensorEngine

/// Sums the latent FP32 gradients of all ranks, bucket by bucket, overlapping communication with backward. The
/// caller makes the sum an average by scaling the loss gradient by 1/R before backward (`TrainingStep` does): every
/// gradient is linear in it, so no extra pass over the gradients is needed.
///
/// Parameters live in one arena in forward order, so a bucket of consecutive parameters is one contiguous range of
/// the gradient arena. Backward reports, after each top-level layer, the lowest arena offset whose gradient is
/// final (`ready(downTo:)`); every bucket entirely above it is launched as a non-blocking in-place allreduce, in
/// bucket order — the same order on every rank — and each report also drives every pending one (MPI_Testsome:
/// Open MPI progresses non-blocking collectives only inside MPI calls). `finish()` waits for the pending ones and
/// reduces what is left with the communicator's allreduce. With `overlap` off, every bucket is reduced at `finish()`.
/// Every wait is bounded by the communicator's timeout (`distributed.timeout_s`).
public final class GradientSync {
    public let communicator: Collectives
    public let overlap: Bool
    let store: ParameterStore
    /// Arena offset ranges, first bucket (the last parameters) first.
    public let buckets: [Range<Int>]
    var launched = 0
    let pending: PendingSums
    /// Seconds spent in `finish()` waiting for communication in the last step.
    public private(set) var lastWaitSeconds = 0.0

    /// - Parameters:
    ///   - capBytes, firstCapBytes: bucket caps (`Bucketing.assign`).
    public init(store: ParameterStore, communicator: Collectives, capBytes: Int = Bucketing.defaultCapBytes,
                firstCapBytes: Int? = Bucketing.defaultFirstCapBytes, overlap: Bool = true) {
        self.store = store
        self.communicator = communicator
        self.overlap = overlap
        pending = communicator.pendingSums()
        let params = store.parameters
        buckets = Bucketing.assign(sizes: params.map(\.count), capBytes: capBytes, firstCapBytes: firstCapBytes).map { r in
            params[r.lowerBound].offset..<(params[r.upperBound - 1].offset + params[r.upperBound - 1].count)
        }
    }

    deinit { pending.stop() }

    /// Call before backward.
    public func beginStep() {
        launched = 0
    }

    /// Gradients at arena offsets ≥ `offset` are final: launch the buckets they complete.
    public func ready(downTo offset: Int) throws {
        guard overlap, communicator.size > 1 else { return }
        while launched < buckets.count && buckets[launched].lowerBound >= offset { try launchNext() }
        try pending.progress()
    }

    func launchNext() throws {
        let r = buckets[launched]
        try pending.start(store.grads + r.lowerBound, count: r.count, bucketName(launched))
        launched += 1
    }

    func bucketName(_ i: Int) -> String {
        "gradient allreduce, bucket \(i + 1) of \(buckets.count) (\(buckets[i].count * 4 / 1024) KiB)"
    }

    /// Reduces the remaining buckets and waits for the pending ones: afterwards every rank holds the sum.
    public func finish() throws {
        guard communicator.size > 1 else { return }
        let t0 = ProcessClock.now()
        try pending.waitAll()
        while launched < buckets.count {
            let r = buckets[launched]
            try communicator.allreduce(store.grads + r.lowerBound, count: r.count, .sum, bucketName(launched))
            launched += 1
        }
        lastWaitSeconds = ProcessClock.now() - t0
    }
}
