import Foundation

/// CIFAR-10 and CIFAR-100 in their official binary formats (the `cifar-10-batches-bin` and `cifar-100-binary`
/// folders). A record is the label byte(s) followed by 3072 pixel bytes: 1024 red, 1024 green, 1024 blue, each
/// 32x32 row-major — already the CHW layout the engine uses.
///
/// - CIFAR-10: `data_batch_1.bin` … `data_batch_5.bin` (train, 10,000 records each), `test_batch.bin`; 1 label
///   byte per record.
/// - CIFAR-100: `train.bin` (50,000), `test.bin` (10,000); a coarse (0..<20) then a fine (0..<100) label byte.
public enum CIFARReader {
    public enum Variant: String, Sendable { case cifar10, cifar100 }
    public typealias Split = DatasetSplit
    /// Which CIFAR-100 label to train on.
    public enum LabelKind: String, Sendable, CaseIterable { case fine, coarse }

    public static let imageBytes = 3 * 32 * 32

    /// The files of a split, in the order their records are concatenated.
    public static func files(_ variant: Variant, _ split: Split) -> [String] {
        switch (variant, split) {
        case (.cifar10, .train): return (1...5).map { "data_batch_\($0).bin" }
        case (.cifar10, .test): return ["test_batch.bin"]
        case (.cifar100, .train): return ["train.bin"]
        case (.cifar100, .test): return ["test.bin"]
        }
    }

    /// Loads a split from `directory`.
    public static func load(directory: String, variant: Variant, split: Split,
                            labels kind: LabelKind = .fine) throws -> ImageDataset {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw DataError.missing(path: directory, hint: hint(variant))
        }
        var pixels = [UInt8](), labels = [Int32]()
        for name in files(variant, split) {
            let path = "\(directory)/\(name)"
            guard FileManager.default.fileExists(atPath: path) else {
                throw DataError.missing(path: path, hint: hint(variant))
            }
            try read(path: path, variant: variant, labels: kind, pixels: &pixels, into: &labels)
        }
        let classes = variant == .cifar10 ? 10 : (kind == .fine ? 100 : 20)
        return ImageDataset(name: variant.rawValue, images: pixels, labels: labels, channels: 3, height: 32, width: 32,
                            numClasses: classes)
    }

    /// Appends one file's records. The file must hold a whole number of records; every label must be in range.
    public static func read(path: String, variant: Variant, labels kind: LabelKind = .fine,
                            pixels: inout [UInt8], into labels: inout [Int32]) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        let labelBytes = variant == .cifar10 ? 1 : 2
        let record = labelBytes + imageBytes
        guard !data.isEmpty else {
            throw DataError.inconsistent(path: path, reason: "empty file; expected records of \(record) bytes")
        }
        guard data.count % record == 0 else {
            let whole = data.count / record
            throw DataError.truncated(path: path, expectedBytes: (whole + 1) * record, gotBytes: data.count)
        }
        let n = data.count / record
        let classes = variant == .cifar10 ? 10 : (kind == .fine ? 100 : 20)
        let labelOffset = variant == .cifar10 ? 0 : (kind == .fine ? 1 : 0)
        pixels.reserveCapacity(pixels.count + n * imageBytes)
        labels.reserveCapacity(labels.count + n)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let b = raw.bindMemory(to: UInt8.self)
            for r in 0..<n {
                let at = r * record
                if variant == .cifar100, b[at] >= 20 || b[at + 1] >= 100 {
                    throw DataError.inconsistent(
                        path: path, reason: "record \(r) (byte offset \(at)): labels coarse \(b[at]) / fine \(b[at + 1]) "
                            + "outside 0..<20 / 0..<100 — not a CIFAR-100 binary file?")
                }
                let label = Int(b[at + labelOffset])
                guard label < classes else {
                    throw DataError.inconsistent(
                        path: path, reason: "record \(r) (byte offset \(at)): label \(label) outside 0..<\(classes) — "
                            + "not a \(variant == .cifar10 ? "CIFAR-10" : "CIFAR-100") binary file?")
                }
                labels.append(Int32(label))
                pixels.append(contentsOf: UnsafeBufferPointer(rebasing: b[(at + labelBytes)..<(at + record)]))
            }
        }
    }

    static func hint(_ variant: Variant) -> String {
        variant == .cifar10
            ? "Download the binary version (cifar-10-binary.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html, "
                + "unpack it and set data.path to its cifar-10-batches-bin folder."
            : "Download the binary version (cifar-100-binary.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html, "
                + "unpack it and set data.path to its cifar-100-binary folder."
    }
}
