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
        var names = [UInt8](), nameStarts = [Int](), order = [Int]()
        for (label, name) in classes.enumerated() {
            let dir = root + "/" + name
            // File names of this class as NUL-terminated bytes: no String per file (1.28M of them for ImageNet).
            names.removeAll(keepingCapacity: true); nameStarts.removeAll(keepingCapacity: true)
            try forEachEntry(of: dir, hint: hint) { entry, isDirectory in
                guard !isDirectory else { return }
                if isJPEGName(entry) {
                    nameStarts.append(names.count)
                    names.append(contentsOf: entry); names.append(0)
                } else {
                    let file = String(decoding: entry, as: UTF8.self)
                    if strict {
                        throw DataError.badSample(path: dir + "/" + file,
                                                  reason: "not a JPEG file (extension .jpg or .jpeg expected); remove it or set data.bad_samples: skip")
                    }
                    skipped += 1
                    if examples.count < 5 { examples.append(name + "/" + file) }
                }
            }
            if nameStarts.isEmpty {
                if strict {
                    throw DataError.inconsistent(path: dir, reason: "class folder holds no JPEG images (label \(label) would have no samples); remove the folder or set data.bad_samples: skip")
                }
                empty.append(name)
            }
            names.withUnsafeBufferPointer { nb in
                let base = nb.baseAddress!
                order = Array(nameStarts.indices)
                order.sort { strcmp(base + nameStarts[$0], base + nameStarts[$1]) < 0 }  // byte order, as Python sorts
                for i in order {
                    bytes.append(contentsOf: name.utf8); bytes.append(UInt8(ascii: "/"))
                    let s = nameStarts[i]
                    bytes.append(contentsOf: UnsafeBufferPointer(start: base + s, count: strlen(base + s) + 1))
                    starts.append(bytes.count)
                    labels.append(Int32(label))
                }
            }
        }
        return ImageFolder(root: root, classNames: classes, pathBytes: bytes, pathStarts: starts, labels: labels,
                           skippedCount: skipped, skippedExamples: examples, emptyClasses: empty)
    }

    /// Python's `sorted` on str: code-point order, which is UTF-8 byte order (Swift's `<` on String is not).
    static func byteOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    /// Whether a file name ends in .jpg or .jpeg, any case.
    static func isJPEGName(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        func ends(with ext: String) -> Bool {
            let e = Array(ext.utf8)
            guard name.count > e.count else { return false }
            for (k, c) in e.enumerated() where name[name.count - e.count + k] | 0x20 != c { return false }
            return true
        }
        return ends(with: ".jpg") || ends(with: ".jpeg")
    }

    struct Entry { var name: String; var isDirectory: Bool }

    /// The entries of one directory as Strings (class folders).
    static func entries(of dir: String, hint: String) throws -> [Entry] {
        var out = [Entry]()
        try forEachEntry(of: dir, hint: hint) { out.append(Entry(name: String(decoding: $0, as: UTF8.self), isDirectory: $1)) }
        return out
    }

    /// Calls `body(name bytes, is a directory)` for each entry of `dir`, without hidden ones ("." and "..", and
    /// files such as .DS_Store); symbolic links are followed as torchvision does.
    static func forEachEntry(of dir: String, hint: String,
                             _ body: (UnsafeBufferPointer<UInt8>, Bool) throws -> Void) throws {
        guard let d = opendir(dir) else {
            if errno == ENOENT { throw DataError.missing(path: dir, hint: hint) }
            throw DataError.unreadable(path: dir, reason: String(cString: strerror(errno)))
        }
        defer { closedir(d) }
        while let e = readdir(d) {
            let type = Int32(e.pointee.d_type)
            try withUnsafeBytes(of: &e.pointee.d_name) { raw in
                let b = raw.bindMemory(to: UInt8.self)
                let name = UnsafeBufferPointer(rebasing: b[..<(b.firstIndex(of: 0) ?? b.count)])
                if name.first == UInt8(ascii: ".") { return }
                var isDir = type == Int32(DT_DIR)
                if type == Int32(DT_UNKNOWN) || type == Int32(DT_LNK) {
                    var st = stat()
                    isDir = stat(dir + "/" + String(decoding: name, as: UTF8.self), &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
                }
                try body(name, isDir)
            }
        }
    }
}
