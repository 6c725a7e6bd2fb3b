import Foundation

/// A dense Float32 tensor in row-major (NCHW for images) layout, backed by 64-byte-aligned storage it owns. An image
/// tensor may instead hold channels-last data (`layout == .nhwc`: oneDNN convolutions write it and the layers between
/// them read it); `shape` stays [N, C, H, W] either way. In bf16 mixed precision a convolution output that only a
/// batch norm reads is stored in bf16 (`elementType`, `bf16Data`: half the bytes); `data` of such a tensor is a
/// programming error and stops the process.
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
    /// Number of Floats the storage can hold.
    public private(set) var capacity: Int
    /// The storage: `capacity` floats, 64-byte aligned.
    private var storage: UnsafeMutablePointer<Float>
    /// How the elements are stored: Float (every kernel's input), or bf16 (`bf16Data`) — in mixed precision, a
    /// convolution's output that only a batch norm reads, or a batch norm's output that only a convolution reads.
    public private(set) var elementType = ElementType.float32
    /// The elements as Floats (a bf16 tensor has none: asking is a programming error, caught in every build).
    public var data: UnsafeMutablePointer<Float> {
        if elementType != .float32 { fatalError("Tensor.data of a bf16 tensor \(shape)") }
        return storage
    }
    /// The elements of a bf16 tensor.
    public var bf16Data: UnsafeMutablePointer<BFloat16> {
        if elementType != .bfloat16 { fatalError("Tensor.bf16Data of a Float tensor \(shape)") }
        return UnsafeMutableRawPointer(storage).assumingMemoryBound(to: BFloat16.self)
    }
    /// The storage's address, whatever the element type (for a kernel that writes either).
    public var rawData: UnsafeMutableRawPointer { UnsafeMutableRawPointer(storage) }
    /// How many times `data` has moved (0 for the first storage): a holder of a pointer into it compares this.
    public private(set) var storageGeneration = 0
    /// How an image tensor's elements are ordered in `data`. Producers set it on every forward (buffers are reused).
    public var layout = Layout.nchw

    /// How elements are stored.
    public enum ElementType: Sendable, Equatable {
        case float32, bfloat16
    }

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
        self.storage = Tensor.allocate(capacity)
        storage.initialize(repeating: 0, count: capacity)
    }

    /// A tensor holding a copy of `values`.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { free(storage) }

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

    /// Makes the tensor hold `newShape` in `elementType`, growing the storage (contents discarded, zero-filled)
    /// only when needed. Returns `true` when it had to allocate.
    @discardableResult
    public func ensure(shape newShape: [Int], elementType type: ElementType = .float32) -> Bool {
        let n = newShape.reduce(1, *)
        shape = newShape
        count = n
        elementType = type
        let floats = type == .float32 ? n : (n + 1) / 2
        guard floats > capacity else { return false }
        free(storage)
        storageGeneration += 1
        storage = Tensor.allocate(floats)
        storage.initialize(repeating: 0, count: floats)
        capacity = floats
        return true
    }

    /// Dimension `i` of the shape.
    @inlinable public func dim(_ i: Int) -> Int { shape[i] }

    // MARK: - Contents

    /// Sets every element of the logical extent to `value`.
    public func fill(_ value: Float) {
        if value == 0 { memset(data, 0, count * MemoryLayout<Float>.stride) } else { data.update(repeating: value, count: count) }
    }

    /// The logical contents as an array (tests, reports); bf16 elements widened (exactly).
    public var array: [Float] {
        if elementType == .bfloat16 { return UnsafeBufferPointer(start: bf16Data, count: count).map(\.float) }
        return Array(UnsafeBufferPointer(start: data, count: count))
    }

    /// Element access for tests and small utilities (bounds-checked in debug builds only).
    public subscript(i: Int) -> Float {
        get { assert(i >= 0 && i < count); return data[i] }
        set { assert(i >= 0 && i < count); data[i] = newValue }
    }
}
