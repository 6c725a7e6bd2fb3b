import Foundation

/// Writing a packed file (`bwma data pack`): records rendered in parallel blocks, written in order, then the header,
/// metadata and labels; the file appears under its name only when complete (temporary file, fsync, rename).
extension PackedDataset {
    /// Renders every sample of `source` with `augmentation` (deterministic: no random draws) and writes the packed
    /// file atomically. Returns the records written and the samples skipped.
    @discardableResult
    public static func write(_ source: SampleSource, augmentation: Augmentation, normalization: Normalization,
                             to path: String, workers: Int, skipBadSamples: Bool,
                             progress: ((Int) -> Void)? = nil) throws -> (written: Int, skipped: [String]) {
        let shape = try source.outputShape(augmentation)
        let sample = shape.reduce(1, *)
        let meta = Metadata(name: source.name, class_names: source.classNames, mean: normalization.mean,
                            std: normalization.std)
        let metaBytes = [UInt8](try JSONEncoder().encode(meta))
        let labelsAt = 64 + metaBytes.count
        let pixelsAt = (labelsAt + 4 * source.count + 4095) / 4096 * 4096
        let file = try PackFile(temporaryFor: path)
        defer { file.discardUnlessFinished() }
        let (labels, skipped) = try renderRecords(source, augmentation: augmentation, sample: sample, workers: workers,
                                                  skipBadSamples: skipBadSamples, progress: progress) { record, index in
            try file.write(record, sample, at: pixelsAt + index * sample)
        }
        let count = labels.count
        var header = [UInt8](repeating: 0, count: 64)
        func put(_ v: Int, _ at: Int, _ bytes: Int) {
            for b in 0..<bytes { header[at + b] = UInt8(truncatingIfNeeded: UInt64(v) >> (8 * UInt64(b))) }
        }
        header.replaceSubrange(0..<8, with: magic)
        put(Int(version), 8, 4); put(shape[0], 12, 4); put(shape[1], 16, 4); put(shape[2], 20, 4)
        put(count, 24, 8); put(source.numClasses, 32, 4); put(metaBytes.count, 36, 4)
        // Labels are placed for the full source count; skipped records leave the table's tail unused.
        put(labelsAt, 40, 8); put(pixelsAt, 48, 8); put(pixelsAt + count * sample, 56, 8)
        var labelBytes = [UInt8](repeating: 0, count: 4 * count)
        for (i, l) in labels.enumerated() {
            for b in 0..<4 { labelBytes[4 * i + b] = UInt8(truncatingIfNeeded: UInt32(bitPattern: l) >> (8 * UInt32(b))) }
        }
        try file.write(header, 64, at: 0)
        try file.write(metaBytes, metaBytes.count, at: 64)
        if count > 0 { try file.write(labelBytes, labelBytes.count, at: labelsAt) }
        try file.finish(size: pixelsAt + count * sample, movingTo: path)
        return (count, skipped)
    }

    /// Renders the records in blocks of 256, each block on `workers` threads, and hands the good ones to `emit` in
    /// order (record bytes, index among the written records). Returns their labels and the skipped samples.
    static func renderRecords(_ source: SampleSource, augmentation: Augmentation, sample: Int, workers: Int,
                              skipBadSamples: Bool, progress: ((Int) -> Void)?,
                              emit: (UnsafePointer<UInt8>, Int) throws -> Void) throws -> ([Int32], [String]) {
        let block = 256, threads = Swift.max(workers, 1)
        let scratches = (0..<threads).map { _ in RenderScratch() }
        var labels = [Int32](), skipped = [String]()
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: block * sample)
        defer { out.deallocate() }
        var start = 0
        while start < source.count {
            let n = Swift.min(block, source.count - start)
            let results = UnsafeMutablePointer<Result<Void, Error>?>.allocate(capacity: n)
            results.initialize(repeating: nil, count: n)
            defer { results.deinitialize(count: n); results.deallocate() }
            // Each thread writes only its own records and result cells.
            let shared = BlockJob(results: results, out: out, scratches: scratches, first: start)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                for j in stride(from: t, to: n, by: threads) {
                    var rng = BatchLoader.sampleRNG(seed: 0, epoch: 0, index: shared.first + j)
                    shared.results[j] = Result {
                        try source.render(shared.first + j, augmentation: augmentation, rng: &rng,
                                          into: shared.out + j * sample, scratch: shared.scratches[t])
                    }
                }
            }
            for j in 0..<n {
                if case .failure(let e) = results[j]! {
                    if let d = e as? DataError, case .badSample(let p, _) = d, skipBadSamples { skipped.append(p); continue }
                    throw e
                }
                try emit(out + j * sample, labels.count)
                labels.append(source.label(start + j))
            }
            start += n
            progress?(start)
        }
        return (labels, skipped)
    }

    /// What the render threads of one block share; they touch disjoint cells.
    struct BlockJob: @unchecked Sendable {
        let results: UnsafeMutablePointer<Result<Void, Error>?>
        let out: UnsafeMutablePointer<UInt8>
        let scratches: [RenderScratch]
        let first: Int
    }
}

/// The temporary file a packed dataset is written to; removed unless `finish` moved it into place.
final class PackFile {
    let temporary: String
    private let fd: Int32
    private var done = false

    init(temporaryFor path: String) throws {
        temporary = path + ".tmp-\(getpid())"
        fd = open(temporary, O_CREAT | O_TRUNC | O_WRONLY, 0o644)
        guard fd >= 0 else {
            throw DataError.unreadable(path: temporary, reason: "cannot create: \(String(cString: strerror(errno)))")
        }
    }

    /// Writes all `n` bytes at offset `at`.
    func write(_ p: UnsafeRawPointer, _ n: Int, at: Int) throws {
        var written = 0
        while written < n {
            let k = pwrite(fd, p + written, n - written, off_t(at + written))
            guard k > 0 else {
                throw DataError.unreadable(path: temporary, reason: "write failed: \(String(cString: strerror(errno)))")
            }
            written += k
        }
    }

    /// Sets the size, syncs, closes and renames the file to `path`.
    func finish(size: Int, movingTo path: String) throws {
        guard ftruncate(fd, off_t(size)) == 0, fsync(fd) == 0 else {
            throw DataError.unreadable(path: temporary, reason: "cannot finish the file: \(String(cString: strerror(errno)))")
        }
        close(fd)
        done = true
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw DataError.unreadable(path: path, reason: "cannot move the finished file into place: \(String(cString: strerror(errno)))")
        }
    }

    func discardUnlessFinished() {
        guard !done else { return }
        close(fd)
        unlink(temporary)
    }
}
