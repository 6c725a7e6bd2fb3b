import CZlib
import Data
import Foundation
import XCTest

/// Builds IDX files byte by byte in a fresh temporary directory (removed by `remove()`).
struct IDXFixtures {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("bwma-datatests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// The IDX encoding: magic `00 00 08 ndims`, big-endian UInt32 sizes, then `data` (not checked against the dims,
    /// so tests can write files that lie about their size).
    static func idx(dims: [Int], data: [UInt8], type: UInt8 = 0x08) -> [UInt8] {
        var out: [UInt8] = [0, 0, type, UInt8(dims.count)]
        for d in dims {
            let v = UInt32(d)
            out += [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
        }
        return out + data
    }

    /// Deterministic bytes that do not compress to nothing (so a gzip stream has a body worth cutting).
    static func pseudoRandomBytes(_ n: Int, seed: UInt32 = 12345) -> [UInt8] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 1_664_525 &+ 1_013_904_223
            return UInt8(s >> 24)
        }
    }

    /// Writes `bytes` as they are.
    @discardableResult
    func writeRaw(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path(name)
        try Foundation.Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// Writes `bytes` gzip-compressed through zlib's gz* API.
    @discardableResult
    func writeGzip(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path(name)
        guard let f = gzopen(p, "wb9") else { throw FixtureError("gzopen(\(p)) failed") }
        let n = bytes.withUnsafeBytes { gzwrite(f, $0.baseAddress, UInt32($0.count)) }
        let rc = gzclose(f)
        guard Int(n) == bytes.count, rc == Z_OK else { throw FixtureError("gzwrite(\(p)) wrote \(n) bytes, gzclose \(rc)") }
        return p
    }

    /// The bytes of a file, for cutting or corrupting.
    func contents(_ p: String) throws -> [UInt8] { [UInt8](try Foundation.Data(contentsOf: URL(fileURLWithPath: p))) }

    /// An MNIST-family folder: `<prefix>-images-idx3-ubyte[.gz]` and `<prefix>-labels-idx1-ubyte[.gz]`.
    func writeSplit(prefix: String, images: [UInt8], count: Int, height: Int, width: Int, labels: [UInt8],
                    labelCount: Int? = nil, gzip: Bool = true) throws {
        let ext = gzip ? ".gz" : ""
        let imageBytes = IDXFixtures.idx(dims: [count, height, width], data: images)
        let labelBytes = IDXFixtures.idx(dims: [labelCount ?? labels.count], data: labels)
        if gzip {
            try writeGzip("\(prefix)-images-idx3-ubyte\(ext)", imageBytes)
            try writeGzip("\(prefix)-labels-idx1-ubyte\(ext)", labelBytes)
        } else {
            try writeRaw("\(prefix)-images-idx3-ubyte", imageBytes)
            try writeRaw("\(prefix)-labels-idx1-ubyte", labelBytes)
        }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Runs `body`, which must throw a `DataError`, and returns it (failing the test otherwise).
func expectDataError(_ what: String, file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws -> Void) -> DataError? {
    do {
        try body()
        XCTFail("\(what): expected a DataError, nothing was thrown", file: file, line: line)
    } catch let e as DataError {
        return e
    } catch {
        XCTFail("\(what): expected a DataError, got \(type(of: error)): \(error)", file: file, line: line)
    }
    return nil
}
