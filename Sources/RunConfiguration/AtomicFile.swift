import Foundation

/// Crash-safe file replacement: the bytes go to a temporary file in the same folder, which is fsync'ed and then
/// renamed over the target (and the folder fsync'ed), so a reader sees the old file or the new one, never a partial
/// one. On any failure the temporary file is removed and the old file is left untouched.
public enum AtomicFile {
    /// Replaces `url` with `data`.
    public static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent().path
        let tmp = "\(dir)/.\(url.lastPathComponent).tmp-\(getpid())"
        func fail(_ what: String, _ code: Int32) -> FileError {
            FileError(.cannotWrite, path: url.path, problem: "\(what): \(String(cString: strerror(code)))")
        }
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("cannot create \(tmp)", errno) }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        do {
            defer { close(fd) }
            try data.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw fail("write failed after \(done) of \(raw.count) bytes", errno)
                    }
                    done += n
                }
            }
            guard fsync(fd) == 0 else { throw fail("fsync failed", errno) }
        }
        guard rename(tmp, url.path) == 0 else { throw fail("rename failed", errno) }
        ok = true
        let dfd = open(dir, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// A short reason for a Foundation/POSIX error.
    public static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        return ns.localizedDescription
    }
}
