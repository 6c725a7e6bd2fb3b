/// A file or folder that cannot be used: which one, what is wrong and, where there is one, the fix. The one error
/// type for files the run reads and writes itself (run folders, atomic writes, safetensors, checkpoints); datasets
/// have `DataError`, configs `ConfigError`.
public struct FileError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A write failed (`problem`: the system's reason).
        case cannotWrite
        /// A run folder cannot be created, locked or written.
        case runFolderNotWritable
        /// A run folder is locked by another process (`problem`: its pid, or empty).
        case runFolderBusy
        /// A safetensors file is malformed or unreadable.
        case malformed
        /// A checkpoint cannot be used by this run (format, checksum, model, optimiser, ranks, schedule).
        case unusableCheckpoint
    }

    public let kind: Kind
    public let path: String
    public let problem: String

    public init(_ kind: Kind, path: String, problem: String) {
        self.kind = kind; self.path = path; self.problem = problem
    }

    /// A checkpoint this run cannot use.
    public static func checkpoint(_ path: String, _ problem: String) -> FileError {
        FileError(.unusableCheckpoint, path: path, problem: problem)
    }

    public var description: String {
        switch kind {
        case .cannotWrite: return "cannot write \(path): \(problem)"
        case .runFolderNotWritable:
            return "run folder \(path) is not writable (\(problem)); choose another runtime.runs_dir or free space there"
        case .runFolderBusy:
            return "run folder \(path) is in use by another bwma process\(problem.isEmpty ? "" : " (pid \(problem))"); "
                + "wait for it to finish, or choose another name (name: / --set name=...)"
        case .malformed: return "\(path): \(problem)"
        case .unusableCheckpoint: return "checkpoint \(path): \(problem)"
        }
    }
}
