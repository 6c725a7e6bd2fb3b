import Foundation

/// The bytes of a fixed-size image dataset: owned in memory, or a read-only memory map of a packed file
/// (`PackedDataset`), so a dataset larger than RAM costs only the pages the sampler touches.
///
/// Sendable (unchecked): immutable after creation (the bytes are read-only for every reader thread).
public final class PixelStorage: @unchecked Sendable {
    public let base: UnsafePointer<UInt8>
    public let count: Int
    /// Keeps the bytes alive: an allocation to free, a mapping to unmap, or the parent of a slice.
    private let owner: Owner

    private enum Owner {
        case allocation(UnsafeMutableRawPointer)
        case mapping(UnsafeMutableRawPointer, length: Int)
        case slice(PixelStorage)
    }

    public init(_ bytes: [UInt8]) {
        let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: Swift.max(bytes.count, 1))
        copy.initialize(from: bytes, count: bytes.count)
        base = UnsafePointer(copy)
        count = bytes.count
        owner = .allocation(UnsafeMutableRawPointer(copy))
    }

    /// Maps `length` bytes of `path` starting at `offset` (page-aligned) read-only.
    init(mapping path: String, offset: Int, length: Int) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DataError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard length > 0 else {
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
            base = UnsafePointer(p); count = 0; owner = .allocation(UnsafeMutableRawPointer(p))
            return
        }
        guard let p = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, off_t(offset)), p != MAP_FAILED else {
            throw DataError.unreadable(path: path, reason: "mmap: \(String(cString: strerror(errno)))")
        }
        base = UnsafePointer(p.assumingMemoryBound(to: UInt8.self))
        count = length
        owner = .mapping(p, length: length)
    }

    /// A view of `range` of another storage (no copy).
    init(slicing parent: PixelStorage, range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= parent.count)
        base = parent.base + range.lowerBound
        count = range.count
        owner = .slice(parent)
    }

    deinit {
        switch owner {
        case .allocation(let p): p.deallocate()
        case .mapping(let p, let length): munmap(p, length)
        case .slice: break
        }
    }

    public var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }
}
