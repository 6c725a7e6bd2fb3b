import Foundation

/// The packed format `bwma data pack` writes for fast repeated epochs: fixed-resolution 8-bit records and their
/// labels in one file, read back through a memory map (no decoding, no copy; the page cache keeps hot data).
///
/// Layout (little-endian):
/// ```
/// 0   "BWMAPACK"            8-byte magic
/// 8   u32 version (1)       12  u32 channels   16  u32 height   20  u32 width
/// 24  u64 count             32  u32 classes    36  u32 metadata bytes (JSON, at 64)
/// 40  u64 labels offset     48  u64 pixels offset (4096-aligned)    56  u64 file size
/// 64  metadata JSON {"name", "class_names", "mean", "std"}
/// labels: count x i32; pixels: count records of channels x height x width bytes (CHW)
/// ```
public enum PackedDataset {
    public static let magic = Array("BWMAPACK".utf8)
    public static let version: UInt32 = 1
    public static let fileExtension = "bwpack"

    struct Metadata: Codable {
        var name: String
        var class_names: [String]
        var mean: [Float]
        var std: [Float]
    }

    /// Reads a packed file (memory-mapped pixels) and the normalisation stored with it.
    public static func load(_ path: String) throws -> (ImageDataset, Normalization) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataError.missing(path: path, hint: "Write it with `bwma data pack` (see docs/data.md).")
        }
        guard let fh = FileHandle(forReadingAtPath: path) else {
            throw DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { try? fh.close() }
        let head = try fh.read(upToCount: 64) ?? Data()
        guard head.count == 64 else { throw DataError.truncated(path: path, expectedBytes: 64, gotBytes: head.count) }
        let h = [UInt8](head)
        guard Array(h[0..<8]) == magic else {
            throw DataError.inconsistent(path: path, reason: "not a packed dataset: the file does not start with \"BWMAPACK\"")
        }
        func u32(_ o: Int) -> Int { Int(h[o..<(o + 4)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
        func u64(_ o: Int) -> UInt64 { h[o..<(o + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        guard u32(8) == Int(version) else {
            throw DataError.inconsistent(path: path, reason: "packed format version \(u32(8)); this build reads version \(version)")
        }
        // Every field is checked against the limits and the real file size, with overflow-checked arithmetic,
        // before anything is allocated or read.
        let actual = Int((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        let c = u32(12), height = u32(16), width = u32(20), classes = u32(32), metaBytes = u32(36)
        let count64 = u64(24), labels64 = u64(40), pixels64 = u64(48), size64 = u64(56)
        func bad(_ why: String) -> DataError {
            DataError.inconsistent(path: path, reason: "packed header is inconsistent: \(why) (\(c)x\(height)x\(width), "
                + "\(count64) records, \(classes) classes, labels at \(labels64), pixels at \(pixels64), size \(size64))")
        }
        if let problem = DataLimits.shapeProblem([c, height, width]) { throw bad(problem) }
        guard (1...DataLimits.maxClasses).contains(classes) else { throw bad("classes must be in 1...\(DataLimits.maxClasses)") }
        guard size64 == UInt64(actual) else {
            throw DataError.truncated(path: path, expectedBytes: Int(clamping: size64), gotBytes: actual)
        }
        // All offsets and counts are now bounded by the real file size, which fits an Int.
        guard count64 <= UInt64(actual), labels64 <= UInt64(actual), pixels64 <= UInt64(actual) else {
            throw bad("a count or offset lies beyond the \(actual)-byte file")
        }
        let count = Int(count64), labelsAt = Int(labels64), pixelsAt = Int(pixels64)
        let sample = c * height * width
        let (labelBytesCount, o1) = count.multipliedReportingOverflow(by: 4)
        let (pixelBytes, o2) = count.multipliedReportingOverflow(by: sample)
        let (labelsEnd, o3) = labelsAt.addingReportingOverflow(labelBytesCount)
        let (pixelsEnd, o4) = pixelsAt.addingReportingOverflow(pixelBytes)
        guard !(o1 || o2 || o3 || o4), labelsAt >= 64 + metaBytes, pixelsAt >= labelsEnd, pixelsAt % 4096 == 0,
              pixelsEnd == actual else {
            throw bad("the labels table and the records do not fit the file")
        }
        try fh.seek(toOffset: 64)
        let metaData = try fh.read(upToCount: metaBytes) ?? Data()
        let meta: Metadata
        do { meta = try JSONDecoder().decode(Metadata.self, from: metaData) } catch {
            throw DataError.inconsistent(path: path, reason: "packed metadata is not valid JSON: \(error)")
        }
        try fh.seek(toOffset: UInt64(labelsAt))
        let labelBytes = [UInt8](try fh.read(upToCount: labelBytesCount) ?? Data())
        guard labelBytes.count == labelBytesCount else {
            throw DataError.truncated(path: path, expectedBytes: labelsEnd, gotBytes: labelsAt + labelBytes.count)
        }
        var labels = [Int32](repeating: 0, count: count)
        for i in 0..<count {
            let v = Int32(bitPattern: UInt32(labelBytes[4 * i]) | UInt32(labelBytes[4 * i + 1]) << 8
                          | UInt32(labelBytes[4 * i + 2]) << 16 | UInt32(labelBytes[4 * i + 3]) << 24)
            guard v >= 0 && Int(v) < classes else {
                throw DataError.inconsistent(path: path, reason: "record \(i): label \(v) outside 0..<\(classes)")
            }
            labels[i] = v
        }
        let pixels = try PixelStorage(mapping: path, offset: pixelsAt, length: pixelBytes)
        let d = ImageDataset(name: meta.name, pixels: pixels, labels: labels, channels: c, height: height, width: width,
                             numClasses: classes, classNames: meta.class_names)
        guard meta.mean.count == c, meta.std.count == c, meta.std.allSatisfy({ $0 > 0 }) else {
            throw DataError.inconsistent(path: path, reason: "packed metadata: mean/std need \(c) values, std > 0")
        }
        return (d, Normalization(mean: meta.mean, std: meta.std))
    }

    /// Renders every sample of `source` with `augmentation` (deterministic: no random draws) and writes the packed
    /// file atomically (temporary file, fsync, rename). Returns the records written and the samples skipped.
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
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY, 0o644)
        guard fd >= 0 else { throw DataError.unreadable(path: tmp, reason: "cannot create: \(String(cString: strerror(errno)))") }
        var ok = false
        defer { if !ok { close(fd); unlink(tmp) } }
        func pwriteAll(_ p: UnsafeRawPointer, _ n: Int, _ at: Int) throws {
            var done = 0
            while done < n {
                let k = pwrite(fd, p + done, n - done, off_t(at + done))
                guard k > 0 else { throw DataError.unreadable(path: tmp, reason: "write failed: \(String(cString: strerror(errno)))") }
                done += k
            }
        }
        // Render in blocks of records, each block in parallel; append the good ones in order.
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
                try pwriteAll(out + j * sample, sample, pixelsAt + labels.count * sample)
                labels.append(source.label(start + j))
            }
            start += n
            progress?(start)
        }
        let count = labels.count
        var header = [UInt8](repeating: 0, count: 64)
        func put(_ v: UInt64, _ at: Int, _ bytes: Int) { for b in 0..<bytes { header[at + b] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(b))) } }
        header.replaceSubrange(0..<8, with: magic)
        put(UInt64(version), 8, 4); put(UInt64(shape[0]), 12, 4); put(UInt64(shape[1]), 16, 4); put(UInt64(shape[2]), 20, 4)
        put(UInt64(count), 24, 8); put(UInt64(source.numClasses), 32, 4); put(UInt64(metaBytes.count), 36, 4)
        // Labels are placed for the full source count; skipped records leave the table's tail unused.
        put(UInt64(labelsAt), 40, 8); put(UInt64(pixelsAt), 48, 8); put(UInt64(pixelsAt + count * sample), 56, 8)
        var labelBytes = [UInt8](repeating: 0, count: 4 * count)
        for (i, l) in labels.enumerated() { for b in 0..<4 { labelBytes[4 * i + b] = UInt8(truncatingIfNeeded: UInt32(bitPattern: l) >> (8 * UInt32(b))) } }
        try pwriteAll(header, 64, 0)
        try pwriteAll(metaBytes, metaBytes.count, 64)
        if count > 0 { try pwriteAll(labelBytes, labelBytes.count, labelsAt) }
        guard ftruncate(fd, off_t(pixelsAt + count * sample)) == 0, fsync(fd) == 0 else {
            throw DataError.unreadable(path: tmp, reason: "cannot finish the file: \(String(cString: strerror(errno)))")
        }
        close(fd)
        guard rename(tmp, path) == 0 else {
            unlink(tmp)
            ok = true
            throw DataError.unreadable(path: path, reason: "cannot move the finished file into place: \(String(cString: strerror(errno)))")
        }
        ok = true
        return (count, skipped)
    }

    /// What the render threads of one block share; they touch disjoint cells.
    struct BlockJob: @unchecked Sendable {
        let results: UnsafeMutablePointer<Result<Void, Error>?>
        let out: UnsafeMutablePointer<UInt8>
        let scratches: [RenderScratch]
        let first: Int
    }
}
