import Foundation

/// The file list of an ImageFolder tree (`root/CLASS/*.jpg|jpeg`, torchvision's layout): classes are the
/// sub-folders in sorted (byte) order, label = position; files within a class in sorted order.
///
/// Listing uses `readdir` directly (no per-file `stat`) and keeps all relative paths in one byte buffer, so a
/// 1.28M-file ImageNet tree is listed in seconds and costs a few tens of MB.
public struct ImageFolder: Sendable {
    public let root: String
    public let classNames: [String]
    /// "CLASS/file" paths, NUL-separated, and where each starts.
    let pathBytes: [UInt8]
    let pathStarts: [Int]
    public let labels: [Int32]
    /// Entries that are not JPEG files by extension, and the first few of them (for the warning).
    public let skippedCount: Int
    public let skippedExamples: [String]
    /// Class folders without a single image.
    public let emptyClasses: [String]

    public static let extensions: Set<String> = ["jpg", "jpeg"]

    public var count: Int { labels.count }

    /// The path of file `i`, relative to `root`.
    public func relativePath(_ i: Int) -> String {
        let s = pathStarts[i], e = pathStarts[i + 1] - 1
        return pathBytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[s..<e]), as: UTF8.self) }
    }

    public func path(_ i: Int) -> String { root + "/" + relativePath(i) }

    /// Lists `root`. With `strict`, a non-JPEG file or an empty class folder is an error naming it; otherwise
    /// they are counted (`skippedCount`, `emptyClasses`) for the caller to warn about.
    public static func scan(root: String, strict: Bool, hint: String = "") throws -> ImageFolder {
        let classes = try entries(of: root, hint: hint).filter { $0.isDirectory }.map(\.name).sorted(by: byteOrder)
        guard !classes.isEmpty else {
            throw DataError.inconsistent(path: root, reason: "no class folders: expected ROOT/CLASS/*.jpg (torchvision's ImageFolder layout)")
        }
        var bytes = [UInt8](), starts = [0], labels = [Int32](), skipped = 0, examples = [String](), empty = [String]()
        for (label, name) in classes.enumerated() {
            let dir = root + "/" + name
            var files = [String]()
            for e in try entries(of: dir, hint: hint) where !e.isDirectory {
                let ext = e.name.split(separator: ".", omittingEmptySubsequences: false).last.map { $0.lowercased() }
                if e.name.contains("."), let ext, extensions.contains(ext) {
                    files.append(e.name)
                } else {
                    if strict {
                        throw DataError.badSample(path: dir + "/" + e.name,
                                                  reason: "not a JPEG file (extension .jpg or .jpeg expected); remove it or set data.bad_samples: skip")
                    }
                    skipped += 1
                    if examples.count < 5 { examples.append(name + "/" + e.name) }
                }
            }
            if files.isEmpty {
                if strict {
                    throw DataError.inconsistent(path: dir, reason: "class folder holds no JPEG images (label \(label) would have no samples); remove the folder or set data.bad_samples: skip")
                }
                empty.append(name)
            }
            files.sort(by: byteOrder)
            for f in files {
                bytes.append(contentsOf: name.utf8); bytes.append(UInt8(ascii: "/")); bytes.append(contentsOf: f.utf8)
                bytes.append(0)
                starts.append(bytes.count)
                labels.append(Int32(label))
            }
        }
        return ImageFolder(root: root, classNames: classes, pathBytes: bytes, pathStarts: starts, labels: labels,
                           skippedCount: skipped, skippedExamples: examples, emptyClasses: empty)
    }

    /// Python's `sorted` on str: code-point order, which is UTF-8 byte order (Swift's `<` on String is not).
    static func byteOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    struct Entry { var name: String; var isDirectory: Bool }

    /// The entries of one directory, without hidden ones; symbolic links are followed as torchvision does.
    static func entries(of dir: String, hint: String) throws -> [Entry] {
        guard let d = opendir(dir) else {
            if errno == ENOENT { throw DataError.missing(path: dir, hint: hint) }
            throw DataError.unreadable(path: dir, reason: String(cString: strerror(errno)))
        }
        defer { closedir(d) }
        var out = [Entry]()
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw -> String in
                let b = raw.bindMemory(to: UInt8.self)
                return String(decoding: b[..<(b.firstIndex(of: 0) ?? b.count)], as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }  // ".", "..", and hidden files such as .DS_Store
            var isDir = Int32(e.pointee.d_type) == Int32(DT_DIR)
            if Int32(e.pointee.d_type) == Int32(DT_UNKNOWN) || Int32(e.pointee.d_type) == Int32(DT_LNK) {
                var st = stat()
                isDir = stat(dir + "/" + name, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            }
            out.append(Entry(name: name, isDirectory: isDir))
        }
        return out
    }
}
