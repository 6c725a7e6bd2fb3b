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
        let h = try Header(fh, path: path)
        try fh.seek(toOffset: 64)
        let metaData = try fh.read(upToCount: h.metaBytes) ?? Data()
        let meta: Metadata
        do { meta = try JSONDecoder().decode(Metadata.self, from: metaData) } catch {
            throw DataError.inconsistent(path: path, reason: "packed metadata is not valid JSON: \(error)")
        }
        let labels = try readLabels(fh, h, path: path)
        let pixels = try PixelStorage(mapping: path, offset: h.pixelsAt, length: h.pixelBytes)
        let d = ImageDataset(name: meta.name, pixels: pixels, labels: labels, channels: h.channels, height: h.height,
                             width: h.width, numClasses: h.classes, classNames: meta.class_names)
        guard meta.mean.count == h.channels, meta.std.count == h.channels, meta.std.allSatisfy({ $0 > 0 }) else {
            throw DataError.inconsistent(path: path, reason: "packed metadata: mean/std need \(h.channels) values, std > 0")
        }
        return (d, Normalization(mean: meta.mean, std: meta.std))
    }

    /// The 64-byte header, every field checked against the limits and the real file size, with overflow-checked
    /// arithmetic, before anything is allocated or read.
    struct Header {
        let channels: Int, height: Int, width: Int, classes: Int, metaBytes: Int
        let count: Int, labelsAt: Int, pixelsAt: Int, labelBytes: Int, pixelBytes: Int

        init(_ fh: FileHandle, path: String) throws {
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
            let (labelBytes, o1) = count.multipliedReportingOverflow(by: 4)
            let (pixelBytes, o2) = count.multipliedReportingOverflow(by: c * height * width)
            let (labelsEnd, o3) = labelsAt.addingReportingOverflow(labelBytes)
            let (pixelsEnd, o4) = pixelsAt.addingReportingOverflow(pixelBytes)
            guard !(o1 || o2 || o3 || o4), labelsAt >= 64 + metaBytes, pixelsAt >= labelsEnd, pixelsAt % 4096 == 0,
                  pixelsEnd == actual else {
                throw bad("the labels table and the records do not fit the file")
            }
            (channels, self.height, self.width, self.classes, self.metaBytes) = (c, height, width, classes, metaBytes)
            (self.count, self.labelsAt, self.pixelsAt, self.labelBytes, self.pixelBytes)
                = (count, labelsAt, pixelsAt, labelBytes, pixelBytes)
        }
    }

    /// The labels table, each label checked against the class count.
    static func readLabels(_ fh: FileHandle, _ h: Header, path: String) throws -> [Int32] {
        try fh.seek(toOffset: UInt64(h.labelsAt))
        let bytes = [UInt8](try fh.read(upToCount: h.labelBytes) ?? Data())
        guard bytes.count == h.labelBytes else {
            throw DataError.truncated(path: path, expectedBytes: h.labelsAt + h.labelBytes, gotBytes: h.labelsAt + bytes.count)
        }
        var labels = [Int32](repeating: 0, count: h.count)
        for i in 0..<h.count {
            let v = Int32(bitPattern: UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8
                          | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24)
            guard v >= 0 && Int(v) < h.classes else {
                throw DataError.inconsistent(path: path, reason: "record \(i): label \(v) outside 0..<\(h.classes)")
            }
            labels[i] = v
        }
        return labels
    }
}
