import Foundation

/// A grow-only, 64-byte-aligned buffer of integers (input codes, binary weights, integer partial sums) — the integer
/// counterpart of `Tensor`'s storage. Contents are unspecified after growth.
///
/// Sendable (unchecked): owned by one layer; parallel kernels write disjoint ranges of it, never resize it.
public final class IntegerBuffer<Element: FixedWidthInteger>: @unchecked Sendable {
    public private(set) var data: UnsafeMutablePointer<Element>
    public private(set) var capacity: Int
    /// Elements in use (set by `ensure`).
    public private(set) var count = 0

    public init(count: Int = 0) {
        capacity = Swift.max(count, 1)
        data = IntegerBuffer.allocate(capacity)
        self.count = count
    }

    deinit { free(data) }

    private static func allocate(_ n: Int) -> UnsafeMutablePointer<Element> {
        var raw: UnsafeMutableRawPointer?
        // The call stays outside the check: -Ounchecked does not evaluate a precondition's condition.
        let rc = posix_memalign(&raw, 64, n * MemoryLayout<Element>.stride)
        if rc != 0 || raw == nil { fatalError("out of memory allocating \(n) integers") }
        return raw!.bindMemory(to: Element.self, capacity: n)
    }

    /// Makes room for `n` elements (reallocating only to grow).
    public func ensure(count n: Int) {
        if n > capacity {
            free(data)
            data = IntegerBuffer.allocate(n)
            capacity = n
        }
        count = n
    }
}
