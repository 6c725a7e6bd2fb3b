import Foundation

/// A dense Float32 tensor in row-major (NCHW for images) layout, backed by 64-byte-aligned storage it owns. An image
/// tensor may instead hold channels-last data (`layout == .nhwc`: oneDNN convolutions write it and the layers between
/// them read it); `shape` stays [N, C, H, W] either way.
///
/// The storage is allocated with a capacity; `ensure(shape:)` re-labels it for any shape that fits and reallocates
/// only when a larger one arrives, which is how layers reuse their buffers from step to step. Growing frees the old
/// storage: a pointer into `data` is valid until the owner's next `ensure`, and anything that keeps one across calls
/// (a cached operand) records `storageGeneration` and re-reads `data` when it changed. (Keeping outgrown storages
/// alive instead cost 30 MB of peak RSS on a ResNet-20 step — the gradient buffers grow stage by stage in backward.)
/// Kernels take `data` (an `UnsafeMutablePointer<Float>`) and sizes; the class never bounds-checks element access in
/// release builds.
///
/// Sendable (unchecked): a tensor is owned by one layer or caller; parallel kernels write disjoint ranges of `data`
/// and never call `ensure` (only the owner resizes, between kernels).
public final class Tensor: @unchecked Sendable {
    /// The logical shape; `count` is its product.
    public private(set) var shape: [Int]
    /// Number of elements in the logical shape.
    public private(set) var count: Int
    /// Number of elements the storage can hold.
    public private(set) var capacity: Int
    /// The storage: `capacity` floats, 64-byte aligned.
    public private(set) var data: UnsafeMutablePointer<Float>
    /// How many times `data` has moved (0 for the first storage): a holder of a pointer into it compares this.
    public private(set) var storageGeneration = 0
    /// How an image tensor's elements are ordered in `data`. Producers set it on every forward (buffers are reused).
    public var layout = Layout.nchw

    /// Element order of an [N, C, H, W] tensor.
    public enum Layout: Sendable, Equatable {
        /// Planes: (n, c, h, w) at ((n·C + c)·H + h)·W + w.
        case nchw
        /// Channels-last: (n, c, h, w) at ((n·H + h)·W + w)·C + c.
        case nhwc
    }

    /// Allocates a zero-filled tensor.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.capacity = Swift.max(count, 1)
        self.data = Tensor.allocate(capacity)
        data.initialize(repeating: 0, count: capacity)
    }

    /// A tensor holding a copy of `values`.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { free(data) }

    nonisolated(unsafe) private static var allocations = 0
    private static let allocationLock = NSLock()

    /// Number of tensor storage allocations so far in this process; a steady-state training step must not raise it.
    public static var allocationCount: Int {
        allocationLock.lock(); defer { allocationLock.unlock() }
        return allocations
    }

    private static func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
        allocationLock.lock(); allocations += 1; allocationLock.unlock()
        var raw: UnsafeMutableRawPointer?
        let rc = posix_memalign(&raw, 64, Swift.max(n, 1) * MemoryLayout<Float>.stride)
        precondition(rc == 0 && raw != nil, "out of memory allocating \(n) floats")
        return raw!.bindMemory(to: Float.self, capacity: n)
    }

    // MARK: - Shape

    /// Makes the tensor hold `newShape`, growing the storage (contents discarded, zero-filled) only when needed.
    /// Returns `true` when it had to allocate.
    @discardableResult
    public func ensure(shape newShape: [Int]) -> Bool {
        let n = newShape.reduce(1, *)
        if n > capacity {
            free(data)
            storageGeneration += 1
            data = Tensor.allocate(n)
            data.initialize(repeating: 0, count: n)
            capacity = n
            shape = newShape
            count = n
            return true
        }
        shape = newShape
        count = n
        return false
    }

    /// Dimension `i` of the shape.
    @inlinable public func dim(_ i: Int) -> Int { shape[i] }

    // MARK: - Contents

    /// Sets every element of the logical extent to `value`.
    public func fill(_ value: Float) {
        if value == 0 { memset(data, 0, count * MemoryLayout<Float>.stride) } else { data.update(repeating: value, count: count) }
    }

    /// The logical contents as an array (tests, reports).
    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// Element access for tests and small utilities (bounds-checked in debug builds only).
    public subscript(i: Int) -> Float {
        get { assert(i >= 0 && i < count); return data[i] }
        set { assert(i >= 0 && i < count); data[i] = newValue }
    }
}
