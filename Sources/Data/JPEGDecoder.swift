import CJPEG
import Foundation

/// Decodes JPEG files with libjpeg-turbo (through the `CJPEG` shim): baseline and progressive, greyscale
/// (replicated to RGB), RGB/YCbCr, and CMYK/YCCK (converted to RGB as Pillow does). Only the region a crop needs is
/// decoded, optionally at 1/2, 1/4 or 1/8 scale in the DCT domain (libjpeg-turbo's scaled IDCT) when the crop is
/// reduced at least that much anyway.
public final class JPEGDecoder {
    public struct Header: Equatable, Sendable {
        public var width: Int, height: Int
        public var components: Int
        public var progressive: Bool
    }

    /// A decoded region: interleaved RGB rows.
    public struct Region {
        /// Where the decoded pixels sit in the (scaled) image, and the scale denominator.
        public var x: Int, y: Int, width: Int, height: Int, scale: Int
        public var warnings: Int
    }

    /// Output rows of the last decode (views returned by `decode` point here until the next call).
    var buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    var capacity = 1

    public init() {}

    deinit { buffer.deallocate() }

    public static func header(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Header {
        var info = bwma_jpeg_info()
        let rc = bwma_jpeg_header(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &info)
        guard rc == 0 else { throw DataError.badSample(path: path, reason: "not a readable JPEG: \(message(&info.message))") }
        return Header(width: Int(info.width), height: Int(info.height), components: Int(info.components),
                      progressive: info.progressive != 0)
    }

    /// Size of a `width` x `height` image decoded at 1/`scale`.
    public static func scaledSize(width: Int, height: Int, scale: Int) -> (width: Int, height: Int) {
        var w: Int32 = 0, h: Int32 = 0
        bwma_jpeg_scaled_size(Int32(width), Int32(height), Int32(scale), &w, &h)
        return (Int(w), Int(h))
    }

    /// Decodes `box` (in scaled pixels) of the image at 1/`scale` and returns a view of its RGB pixels; the view's
    /// pixel (0, 0) is the scaled image's pixel (region.x, region.y), which may lie left of `box.x`.
    public func decode(_ bytes: UnsafeRawBufferPointer, path: String, scale: Int = 1,
                                box: CropBox) throws -> (ImageView, Region) {
        // The shim adds 16-pixel margins and libjpeg widens the row to an iMCU boundary.
        let capacity = (box.width + 96) * box.height * 3
        if self.capacity < capacity {
            buffer.deallocate()
            buffer = .allocate(capacity: capacity)
            self.capacity = capacity
        }
        var r = bwma_jpeg_region()
        let rc = bwma_jpeg_decode(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, Int32(scale),
                                  Int32(box.x), Int32(box.y), Int32(box.width), Int32(box.height), buffer,
                                  self.capacity, &r)
        guard rc == 0 else { throw DataError.badSample(path: path, reason: "JPEG decode failed: \(Self.message(&r.message))") }
        let region = Region(x: Int(r.x), y: Int(r.y), width: Int(r.width), height: Int(r.height), scale: scale,
                            warnings: Int(r.warnings))
        let view = ImageView.hwc(buffer, channels: 3, height: region.height, width: region.width,
                                 rowStride: region.width * 3)
        return (view, region)
    }

    /// Decodes the whole image at full size.
    public func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws -> (ImageView, Header) {
        let h = try Self.header(bytes, path: path)
        let (view, _) = try decode(bytes, path: path, box: CropBox(x: 0, y: 0, width: h.width, height: h.height))
        return (view, h)
    }

    static func message<T>(_ tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
    }
}
