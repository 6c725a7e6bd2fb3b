import Foundation

/// The run folder `runs/<name>/`: resolved config, metrics.jsonl, summary.json, checkpoints/, plots. Files are
/// replaced atomically (`AtomicFile`), so an interrupted run never leaves a half-written file.
public struct RunFolder: Sendable {
    public let url: URL
    /// The exclusive lock on `url/.lock`, held while this value (or a copy) lives.
    let lock: FolderLock

    /// Creates (if needed) `root/name`, locks it and checks that a file can be written in it.
    /// - Parameters:
    ///   - checkpoints: also create `checkpoints/` (a training run's folder; not for report folders).
    public init(root: String, name: String, checkpoints: Bool = true) throws {
        try self.init(url: URL(fileURLWithPath: root).appendingPathComponent(name), checkpoints: checkpoints)
    }

    /// Uses (creating if needed) the folder `url`, taking its lock (`FileError` `.runFolderBusy` at once when
    /// another process holds it) and checking that a file can be written in it.
    public init(url: URL, checkpoints: Bool = true) throws {
        self.url = url
        if let reason = Self.makeDirectories(url.path) {
            throw FileError(.runFolderNotWritable, path: url.path, problem: reason)
        }
        lock = try FolderLock(url.appendingPathComponent(".lock"), folder: url.path)
        if checkpoints, let reason = Self.makeDirectories(self.checkpoints.path) {
            throw FileError(.runFolderNotWritable, path: url.path, problem: reason)
        }
        do { try AtomicFile.write(Data("probe\n".utf8), to: url.appendingPathComponent(".write-test")) } catch let e as FileError {
            throw FileError(.runFolderNotWritable, path: url.path, problem: e.problem)
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

    /// The checkpoints an earlier run left here (`checkpoints/*.safetensors`), by file name.
    public var existingCheckpoints: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
        return names.filter { $0.hasSuffix(".safetensors") }.sorted()
    }

    /// Removes what an earlier run left (checkpoints, metrics, summary, plots, config) for `bwma train --overwrite`.
    public func clearPreviousRun() throws {
        let files = existingCheckpoints.map { "checkpoints/\($0)" }
            + ["metrics.jsonl", "summary.json", "loss.svg", "accuracy.svg", "config.yaml", "parameters.f32", "buffers.f32"]
        for f in files {
            let path = url.appendingPathComponent(f).path
            if unlink(path) != 0 && errno != ENOENT {
                throw FileError(.runFolderNotWritable, path: url.path, problem: "cannot remove \(f): \(String(cString: strerror(errno)))")
            }
        }
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
        guard fd >= 0 else { throw FileError(.cannotWrite, path: path, problem: String(cString: strerror(errno))) }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress!, $0.count) }
        guard n == bytes.count else {
            throw FileError(.cannotWrite, path: path, problem: n < 0 ? String(cString: strerror(errno)) : "short write")
        }
    }
}

/// An exclusive `flock` on a file, released when the value is freed (or the process ends, however it ends).
final class FolderLock: Sendable {
    let fd: Int32

    /// Locks `url` (created if needed) without waiting; writes this process's pid into it.
    init(_ url: URL, folder: String) throws {
        fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FileError(.runFolderNotWritable, path: folder, problem: "cannot create \(url.lastPathComponent): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            var buf = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buf, buf.count, 0)
            close(fd)
            if busy {
                let owner = String(decoding: buf.prefix(Swift.max(n, 0)), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                throw FileError(.runFolderBusy, path: folder, problem: owner)
            }
            throw FileError(.runFolderNotWritable, path: folder, problem: "cannot lock \(url.lastPathComponent): \(reason)")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, 0) }
    }

    deinit { close(fd) }
}
