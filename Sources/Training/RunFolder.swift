import Foundation

/// The run folder `runs/<name>/`: resolved config, metrics.jsonl, summary.json, checkpoints/, plots. Files are
/// replaced atomically (`AtomicFile`), so an interrupted run never leaves a half-written file.
public struct RunFolder: Sendable {
    public let url: URL

    /// The folder cannot be created or written: names the path, the reason and the fix.
    public struct Unwritable: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String {
            "run folder \(path) is not writable (\(reason)); choose another runtime.runs_dir or free space there"
        }
    }

    /// Creates (if needed) `root/name` and checks that a file can be written in it.
    /// - Parameters:
    ///   - checkpoints: also create `checkpoints/` (a training run's folder; not for report folders).
    public init(root: String, name: String, checkpoints: Bool = true) throws {
        try self.init(url: URL(fileURLWithPath: root).appendingPathComponent(name), checkpoints: checkpoints)
    }

    /// Uses (creating if needed) the folder `url`, checking that a file can be written in it.
    public init(url: URL, checkpoints: Bool = true) throws {
        self.url = url
        for dir in checkpoints ? [url, self.checkpoints] : [url] {
            if let reason = Self.makeDirectories(dir.path) { throw Unwritable(path: url.path, reason: reason) }
        }
        do { try AtomicFile.write(Data("probe\n".utf8), to: url.appendingPathComponent(".write-test")) } catch let e as AtomicFile.WriteError {
            throw Unwritable(path: url.path, reason: e.reason)
        }
        unlink(url.appendingPathComponent(".write-test").path)
    }

    /// `mkdir -p` with the system's reason on failure (nil: the folder exists).
    static func makeDirectories(_ path: String) -> String? {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { return "\(prefix): \(String(cString: strerror(errno)))" }
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            return "\(path): \(String(cString: strerror(ENOTDIR)))"
        }
        return nil
    }

    /// `checkpoints/` inside the run folder.
    public var checkpoints: URL { url.appendingPathComponent("checkpoints") }

    /// Writes `data` to `file` atomically.
    public func write(_ file: String, _ data: Data) throws {
        try AtomicFile.write(data, to: url.appendingPathComponent(file))
    }

    /// Appends one JSON line to `file`.
    public func appendLine(_ file: String, _ line: String) throws {
        let path = url.appendingPathComponent(file).path
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress!, $0.count) }
        guard n == bytes.count else {
            throw AtomicFile.WriteError(path: path, reason: n < 0 ? String(cString: strerror(errno)) : "short write")
        }
    }
}
