import Foundation

/// The run folder `runs/<name>/`: resolved config, metrics.jsonl, summary.json. Files are replaced atomically
/// (written to a temporary name, then renamed), so an interrupted run never leaves a half-written file.
public struct RunFolder: Sendable {
    public let url: URL

    public init(root: String, name: String) throws {
        url = URL(fileURLWithPath: root).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Writes `data` to `file` atomically.
    public func write(_ file: String, _ data: Data) throws {
        try data.write(to: url.appendingPathComponent(file), options: .atomic)
    }

    /// Appends one JSON line to `file`.
    public func appendLine(_ file: String, _ line: String) throws {
        let path = url.appendingPathComponent(file).path
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? h.close() }
        try h.seekToEnd()
        try h.write(contentsOf: Data((line + "\n").utf8))
    }
}
