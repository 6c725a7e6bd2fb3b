import CZlib
import Foundation

/// An IDX array (the MNIST / Fashion-MNIST container): unsigned-byte data with its dimensions.
public struct IDXArray: Sendable {
    public var dims: [Int]
    public var bytes: [UInt8]
}

/// Reads IDX files, gzip-compressed (`.gz`, through zlib) or raw.
///
/// Format: 4-byte magic `0x00 0x00 type ndims` (big-endian), then `ndims` big-endian UInt32 sizes, then the data.
/// Only type 0x08 (unsigned byte) is accepted — the type every MNIST-family file uses.
public enum IDXReader {
    /// Reads the whole file. `expectedDims` (e.g. 3 for images, 1 for labels) is checked against the magic.
    public static func read(_ path: String, expectedDims: Int) throws -> IDXArray {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataError.missing(path: path, hint: "")
        }
        guard let file = gzopen(path, "rb") else {
            throw DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { gzclose(file) }
        var reader = GzReader(file: file, path: path)

        let header = try reader.readUpTo(4)
        guard header.count == 4 else {
            throw DataError.truncated(path: path, expectedBytes: 4, gotBytes: header.count)
        }
        let magic = header.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let expectedMagic = UInt32(0x0800) | UInt32(expectedDims)
        guard magic == expectedMagic else {
            throw DataError.badMagic(path: path, found: magic,
                                     expected: "0x\(String(expectedMagic, radix: 16)) (unsigned bytes, \(expectedDims) dimension\(expectedDims == 1 ? "" : "s"))")
        }
        let dimBytes = try reader.readUpTo(4 * expectedDims)
        guard dimBytes.count == 4 * expectedDims else {
            throw DataError.truncated(path: path, expectedBytes: 4 + 4 * expectedDims, gotBytes: 4 + dimBytes.count)
        }
        var dims: [Int] = []
        for d in 0..<expectedDims {
            dims.append(Int(dimBytes[(4 * d)..<(4 * d + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }))
        }
        var total = 1
        for d in dims {
            let (p, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, p <= 1 << 36 else {
                throw DataError.inconsistent(path: path, reason: "header dimensions \(dims) are implausibly large")
            }
            total = p
        }
        let data = try reader.readUpTo(total)
        guard data.count == total else {
            throw DataError.truncated(path: path, expectedBytes: total, gotBytes: data.count)
        }
        if try !reader.readUpTo(1).isEmpty {
            throw DataError.inconsistent(path: path, reason: "extra bytes after the \(total) promised by the header \(dims)")
        }
        return IDXArray(dims: dims, bytes: data)
    }
}

/// Checked reads through zlib: short reads are returned (the caller reports truncation with the counts); zlib
/// errors (corrupt or cut-off gzip streams) are thrown with zlib's message.
struct GzReader {
    let file: gzFile
    let path: String

    /// Reads up to `count` bytes. The buffer grows as data arrives (1 MiB, then doubling, at most 64 MiB at a
    /// time), so a corrupt header that promises terabytes fails on the short read after allocating about twice
    /// what the file holds, not what the header claims.
    mutating func readUpTo(_ count: Int) throws -> [UInt8] {
        var out = [UInt8]()
        var got = 0
        while got < count {
            let chunk = Swift.min(count - got, Swift.min(Swift.max(got, 1 << 20), 1 << 26))
            if out.count < got + chunk { out.append(contentsOf: repeatElement(0, count: got + chunk - out.count)) }
            let n = out.withUnsafeMutableBytes { gzread(file, $0.baseAddress! + got, UInt32(chunk)) }
            if n < 0 {
                var code: Int32 = 0
                let msg = gzerror(file, &code).map { String(cString: $0) } ?? "zlib error \(code)"
                throw DataError.unreadable(path: path, reason: "gzip stream is corrupt: \(msg)")
            }
            if n == 0 { break }
            got += Int(n)
        }
        if got < count {
            // A gzip stream cut short reads as a short count plus a Z_BUF_ERROR: report it as corruption.
            var code: Int32 = 0
            let msg = gzerror(file, &code)
            if code != Z_OK && code != Z_STREAM_END, let msg {
                throw DataError.unreadable(path: path, reason: "gzip stream is corrupt or cut short: \(String(cString: msg))")
            }
            out.removeLast(out.count - got)
        }
        return out
    }
}
