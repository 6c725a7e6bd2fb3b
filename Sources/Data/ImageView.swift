/// A read-only view of 8-bit image pixels with arbitrary strides: CHW planes (in-memory datasets) and interleaved
/// HWC rows (decoded JPEGs) are both `pixel(c, y, x) = base[c·channelStride + y·rowStride + x·columnStride]`.
public struct ImageView {
    public var base: UnsafePointer<UInt8>
    public var channels: Int, height: Int, width: Int
    public var channelStride: Int, rowStride: Int, columnStride: Int

    public init(base: UnsafePointer<UInt8>, channels: Int, height: Int, width: Int, channelStride: Int, rowStride: Int,
                columnStride: Int) {
        self.base = base; self.channels = channels; self.height = height; self.width = width
        self.channelStride = channelStride; self.rowStride = rowStride; self.columnStride = columnStride
    }

    /// Planar [C, H, W].
    public static func chw(_ base: UnsafePointer<UInt8>, channels: Int, height: Int, width: Int) -> ImageView {
        ImageView(base: base, channels: channels, height: height, width: width, channelStride: height * width,
                  rowStride: width, columnStride: 1)
    }

    /// Interleaved [H, W, C] with `rowStride` bytes per row.
    public static func hwc(_ base: UnsafePointer<UInt8>, channels: Int, height: Int, width: Int,
                           rowStride: Int) -> ImageView {
        ImageView(base: base, channels: channels, height: height, width: width, channelStride: 1, rowStride: rowStride,
                  columnStride: channels)
    }

    @inline(__always) public func pixel(_ c: Int, _ y: Int, _ x: Int) -> UInt8 {
        base[c * channelStride + y * rowStride + x * columnStride]
    }
}
