import Foundation
import TensorEngine

/// The state and threads of a `BatchLoader`: the threads hold it, not the loader, so the loader can go away and
/// stop them.
///
/// Sendable (unchecked): its mutable state (slots, queue, counters) is guarded by its lock and condition variables.
final class LoaderCore: @unchecked Sendable {
    let source: SampleSource
    let augmentation: Augmentation
    let normalization: Normalization
    let batchSize: Int
    let seed: UInt64
    let skipBadSamples: Bool
    /// [C, H, W] of each sample.
    let sampleShape: [Int]
    /// Per-channel 1/(255·std) and −mean/std: a byte becomes a normalised float with one multiply-add.
    let scale: [Float], shift: [Float]

    final class Slot {
        let x: Tensor
        let labels: UnsafeMutablePointer<Int32>
        var batch = -1        // which batch of the epoch it holds
        var ready = false
        var error: Error?
        init(shape: [Int], batchSize: Int) {
            x = Tensor(shape: [batchSize] + shape)
            labels = .allocate(capacity: batchSize)
        }
        deinit { labels.deallocate() }
    }

    let slots: [Slot]
    let lock = NSCondition()
    // Guarded by `lock`:
    var indices: [Int] = []
    var epoch = 0
    var batches = 0
    var claimed = 0          // next batch a worker may take
    var consumed = 0         // next batch next() returns
    var generation = 0       // bumps on start(), so workers drop stale work
    var stopping = false
    var running = 0
    var busy = 0             // workers filling a slot right now (outside the lock)
    var skippedCount = 0
    var examples: [String] = []
    var warnings = 0
    let workerCount: Int
    /// The caller-thread renderer when `workerCount == 0`.
    let inlineWorker: Worker

    /// Seconds `next()` spent waiting for a batch since the last `resetWaitTime()`.
    private(set) var waitSeconds = 0.0

    /// - Parameters:
    ///   - depth: batch slots in the ring (≥ 2); workers run at most `depth − 1` batches ahead.
    init(source: SampleSource, augmentation: Augmentation, normalization: Normalization, batchSize: Int,
                workers: Int, depth: Int = 4, seed: UInt64, skipBadSamples: Bool) throws {
        precondition(batchSize > 0 && workers >= 0 && depth >= 2)
        let shape = try source.outputShape(augmentation)
        sampleShape = shape
        precondition(normalization.mean.count == shape[0], "normalisation has the wrong channel count")
        self.source = source; self.augmentation = augmentation; self.normalization = normalization
        self.batchSize = batchSize; self.seed = seed; self.skipBadSamples = skipBadSamples
        scale = normalization.std.map { 1 / (255 * $0) }
        shift = zip(normalization.mean, normalization.std).map { -$0 / $1 }
        workerCount = workers
        slots = (0..<depth).map { _ in Slot(shape: shape, batchSize: batchSize) }
        inlineWorker = Worker(sampleSize: shape.reduce(1, *))
        startWorkers()
    }

    func startWorkers() {
        for w in 0..<workerCount {
            // The thread holds the core strongly; `BatchLoader.deinit` stops it, then the core goes.
            let t = Thread { self.workLoop() }
            t.name = "bwma-data-\(w)"
            t.stackSize = 1 << 20
            lock.lock(); running += 1; lock.unlock()
            t.start()
        }
    }

    /// Stops the worker threads (waits for them to finish their current sample).
    func shutdown() {
        lock.lock()
        stopping = true
        lock.broadcast()
        while running > 0 { lock.wait() }
        lock.unlock()
    }

    /// Begins an epoch over `indices` (this rank's shard, in order), from batch `firstBatch` (a resumed run).
    func start(epoch: Int, indices: [Int], firstBatch: Int = 0) {
        lock.lock()
        // A worker still filling a slot of an abandoned epoch must finish before the slots are reused.
        while busy > 0 { lock.wait() }
        self.indices = indices
        self.epoch = epoch
        batches = (indices.count + batchSize - 1) / batchSize
        claimed = Swift.min(firstBatch, batches)
        consumed = claimed
        generation += 1
        for s in slots { s.batch = -1; s.ready = false; s.error = nil }
        lock.broadcast()
        lock.unlock()
    }

    /// The next batch of the epoch, nil after the last. Rethrows a worker's error (naming the file).
    func next() throws -> BatchLoader.Batch? {
        lock.lock()
        defer { lock.unlock() }
        guard consumed < batches else { return nil }
        let k = consumed
        let slot = slots[k % slots.count]
        if workerCount == 0 {
            let (start, end) = range(of: k)
            slot.batch = k
            lock.unlock()
            let outcome = inlineWorker.fill(slot, indices: indices[start..<end], epoch: epoch, loader: self)
            lock.lock()
            record(outcome)
            slot.ready = true
        } else {
            let t0 = ProcessClock.now()
            while !(slot.ready && slot.batch == k) { lock.wait() }
            waitSeconds += ProcessClock.now() - t0
        }
        consumed += 1
        // The slot of batch k−1 is free again: the consumer has moved on from it.
        lock.broadcast()
        if let e = slot.error { throw e }
        if slot.x.shape[0] == 0 {
            throw DataError.inconsistent(path: source.name, reason: "every sample of batch \(k) was skipped as unreadable")
        }
        return BatchLoader.Batch(x: slot.x, labels: slot.labels)
    }

    func resetWaitTime() { lock.lock(); waitSeconds = 0; lock.unlock() }

    var waitTime: Double { lock.lock(); defer { lock.unlock() }; return waitSeconds }

    /// Samples left out as unreadable so far, the first few of them, and libjpeg's recoverable-damage warnings.
    var skipped: (count: Int, examples: [String], jpegWarnings: Int) {
        lock.lock(); defer { lock.unlock() }
        return (skippedCount, examples, warnings)
    }

    func range(of batch: Int) -> (Int, Int) {
        let start = batch * batchSize
        return (start, Swift.min(start + batchSize, indices.count))
    }

    /// Caller holds `lock`.
    func record(_ o: Worker.Outcome) {
        skippedCount += o.skipped.count
        for e in o.skipped where examples.count < 5 { examples.append(e) }
        warnings += o.jpegWarnings
    }

    func workLoop() {
        let worker = Worker(sampleSize: sampleShape.reduce(1, *))
        lock.lock()
        while true {
            // Wait for a batch whose slot is free: slot k % depth was last used by batch k − depth, which the
            // consumer has finished with once it asked for batch k − depth + 1 (consumed > k − depth + 1 − 1).
            while !stopping && !(claimed < batches && claimed < consumed + slots.count - 1) { lock.wait() }
            if stopping { break }
            let k = claimed, gen = generation
            claimed += 1
            busy += 1
            let slot = slots[k % slots.count]
            slot.batch = k; slot.ready = false; slot.error = nil
            let (start, end) = range(of: k)
            let chunk = indices[start..<end], epoch = self.epoch
            lock.unlock()
            let outcome = worker.fill(slot, indices: chunk, epoch: epoch, loader: self)
            lock.lock()
            busy -= 1
            if gen == generation {
                record(outcome)
                slot.ready = true
            }
            lock.broadcast()
        }
        running -= 1
        lock.broadcast()
        lock.unlock()
    }

    /// Renders batches; one per thread.
    final class Worker {
        let scratch = RenderScratch()
        let bytes: UnsafeMutablePointer<UInt8>
        let sampleSize: Int

        struct Outcome { var skipped: [String] = []; var jpegWarnings = 0 }

        init(sampleSize: Int) {
            self.sampleSize = sampleSize
            bytes = .allocate(capacity: sampleSize)
        }
        deinit { bytes.deallocate() }

        func fill(_ slot: Slot, indices: ArraySlice<Int>, epoch: Int, loader l: LoaderCore) -> Outcome {
            var outcome = Outcome()
            let c = l.sampleShape[0], plane = sampleSize / c
            slot.x.ensure(shape: [l.batchSize] + l.sampleShape)
            let warningsBefore = scratch.jpegWarnings
            var row = 0
            for i in indices {
                var rng = BatchLoader.sampleRNG(seed: l.seed, epoch: epoch, index: i)
                do {
                    try l.source.render(i, augmentation: l.augmentation, rng: &rng, into: bytes, scratch: scratch)
                } catch let e as DataError {
                    if case .badSample(let path, _) = e, l.skipBadSamples {
                        outcome.skipped.append(path)
                        continue
                    }
                    slot.error = e
                    break
                } catch {
                    slot.error = error
                    break
                }
                slot.labels[row] = l.source.label(i)
                let dst = slot.x.data + row * sampleSize
                for ch in 0..<c {
                    let a = l.scale[ch], b = l.shift[ch], s = bytes + ch * plane, d = dst + ch * plane
                    for k in 0..<plane { d[k] = Float(s[k]) * a + b }
                }
                row += 1
            }
            slot.x.ensure(shape: [row] + l.sampleShape)
            outcome.jpegWarnings = scratch.jpegWarnings - warningsBefore
            return outcome
        }
    }
}
