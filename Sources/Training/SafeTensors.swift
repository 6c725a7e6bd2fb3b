import Data
import Foundation
import RunConfiguration

/// The safetensors file layout (https://github.com/huggingface/safetensors): an 8-byte little-endian header length
/// N, N bytes of JSON `{"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
/// "__metadata__": {"<key>": "<string>"}}` padded with spaces to a multiple of 8, then the raw little-endian tensor
/// bytes, offsets relative to the end of the header. Tensors are written in name order, back to back.
public enum SafeTensors {
    /// Element types this package writes and reads.
    public enum DType: String, Sendable {
        case f32 = "F32", f64 = "F64", i64 = "I64", i32 = "I32", u8 = "U8", i8 = "I8"

        public var size: Int {
            switch self {
            case .f32, .i32: return 4
            case .f64, .i64: return 8
            case .u8, .i8: return 1
            }
        }
    }

    /// One named tensor: its type, shape and raw little-endian bytes.
    public struct Tensor: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        public var data: Data

        public init(dtype: DType, shape: [Int], data: Data) {
            precondition(shape.reduce(1, *) * dtype.size == data.count,
                         "tensor bytes \(data.count) do not match shape \(shape) of \(dtype.rawValue)")
            self.dtype = dtype; self.shape = shape; self.data = data
        }

        public init(_ values: [Float], shape: [Int]? = nil) {
            self.init(dtype: .f32, shape: shape ?? [values.count], data: values.withUnsafeBufferPointer { Data(buffer: $0) })
        }

        public init(_ p: UnsafePointer<Float>, count: Int, shape: [Int]) {
            self.init(dtype: .f32, shape: shape, data: Data(buffer: UnsafeBufferPointer(start: p, count: count)))
        }

        /// The values as Float (F32 tensors only).
        public var floats: [Float] {
            precondition(dtype == .f32, "tensor is \(dtype.rawValue), not F32")
            return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }

        /// Copies the values into `p` (F32 tensors only; `count` must match).
        public func copyFloats(into p: UnsafeMutablePointer<Float>, count: Int) {
            precondition(dtype == .f32 && data.count == count * 4)
            _ = data.withUnsafeBytes { memcpy(p, $0.baseAddress!, count * 4) }
        }
    }

    /// A file's content: tensors by name and string metadata.
    public struct File: Sendable, Equatable {
        public var tensors: [String: Tensor]
        public var metadata: [String: String]

        public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
            self.tensors = tensors; self.metadata = metadata
        }
    }


    // MARK: - Encoding

    /// The file's bytes. Header keys are sorted, tensors laid out in name order.
    public static func encode(_ file: File) throws -> Data {
        var header: [String: Any] = [:]
        if !file.metadata.isEmpty { header["__metadata__"] = file.metadata }
        var offset = 0
        let names = file.tensors.keys.sorted()
        for name in names {
            let t = file.tensors[name]!
            header[name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.data.count]]
            offset += t.data.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names { out.append(file.tensors[name]!.data) }
        return out
    }

    /// The raw tensor section of an encoded file (what checksums cover).
    public static func dataSection(of bytes: Data) -> Data {
        guard bytes.count >= 8 else { return Data() }
        let n = bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(bytes.count - 8) else { return Data() }
        return bytes.subdata(in: (8 + Int(n))..<bytes.count)
    }

    // MARK: - Decoding

    /// Parses and validates `bytes` (read from `path`, named in errors): header length, JSON, dtypes, shapes and
    /// offsets (contiguous, in bounds, matching the shapes), and that the data section ends where the last tensor
    /// does.
    public static func decode(_ bytes: Data, path: String) throws -> File {
        func fail(_ problem: String) -> FileError { FileError(.malformed, path: path, problem: problem) }
        guard bytes.count >= 8 else { throw fail("not a safetensors file (\(bytes.count) bytes, shorter than the 8-byte header length)") }
        let n = bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n >= 2, n <= 100_000_000, n <= UInt64(bytes.count - 8) else {
            throw fail("not a safetensors file or truncated (header length \(n), file \(bytes.count) bytes)")
        }
        let headerEnd = 8 + Int(n)
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<headerEnd)) } catch {
            throw fail("the header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw fail("the header is not a JSON object") }
        var file = File()
        var ranges: [(Int, Int, String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw fail("__metadata__ must map strings to strings") }
                file.metadata = m
                continue
            }
            guard let entry = value as? [String: Any], let dt = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw fail("tensor '\(name)': entry needs dtype, shape and data_offsets") }
            guard let dtype = DType(rawValue: dt) else { throw fail("tensor '\(name)': unsupported dtype \(dt)") }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("tensor '\(name)': negative dimension in \(shape)") }
            // Offsets are compared with the data section's size, never added to anything first: offsets near
            // 2^63 must not wrap around into range.
            let (b, e) = (offsets[0], offsets[1]), section = bytes.count - headerEnd
            guard b >= 0, e >= b, e <= section else {
                throw fail("truncated: tensor '\(name)' needs bytes \(b)..<\(e) of a \(section)-byte data section")
            }
            guard let elements = DataLimits.product(shape, limit: section), e - b == elements * dtype.size else {
                throw fail("tensor '\(name)': \(e - b) bytes do not hold shape \(shape) of \(dt)")
            }
            ranges.append((b, e, name))
            file.tensors[name] = Tensor(dtype: dtype, shape: shape, data: bytes.subdata(in: (headerEnd + b)..<(headerEnd + e)))
        }
        ranges.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var expected = 0
        for (b, e, name) in ranges {
            guard b == expected else { throw fail("tensor '\(name)' starts at \(b), expected \(expected) (overlap or gap)") }
            expected = e
        }
        guard headerEnd + expected == bytes.count else {
            throw fail("\(bytes.count - headerEnd - expected) unexpected bytes after the last tensor")
        }
        return file
    }

    /// Reads and decodes the file at `path`.
    public static func read(_ path: String) throws -> File {
        let bytes: Data
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw FileError(.malformed, path: path, problem: "cannot read (\(AtomicFile.reason(error)))")
        }
        return try decode(bytes, path: path)
    }

    // MARK: - Checksum

    /// 64-bit FNV-1a of `data` (as 16 hex digits), eight bytes per round: detects corruption and truncation of the
    /// tensor section, not tampering.
    public static func checksum(_ data: Data) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        data.withUnsafeBytes { raw in
            let words = raw.count / 8
            for i in 0..<words { h = (h ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x100_0000_01b3 }
            for i in (words * 8)..<raw.count { h = (h ^ UInt64(raw[i])) &* 0x100_0000_01b3 }
        }
        return String(format: "%016llx", h)
    }
}
