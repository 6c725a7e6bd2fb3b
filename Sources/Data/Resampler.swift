import Foundation

/// Bilinear resampling with Pillow's antialiasing (the filter widens by the reduction factor, so a downscale
/// averages every source pixel it covers), in Pillow's fixed-point arithmetic: horizontal pass into an 8-bit
/// intermediate, then vertical pass, 22-bit weights, round half up, clip. The result equals Pillow's
/// `Image.resize(size, BILINEAR)` — and so torchvision's PIL path — bit for bit (tested against Pillow).
public enum Resampler {
    /// Pillow's PRECISION_BITS for 8-bit images: 32 − 8 − 2.
    static let precisionBits: Int32 = 22

    /// One axis of a resize: the source extent `[0, inSize)` the filter may read (a crop's width, or the whole
    /// image), the box `[in0, in1)` that maps onto `outSize` output pixels, and which output pixels to produce
    /// (`outFirst ..< outFirst + outCount`: a center crop of a resize is a slice of its output grid).
    public struct Axis: Equatable, Sendable {
        public var inSize: Int
        public var in0: Double, in1: Double
        public var outSize: Int
        public var outFirst: Int, outCount: Int

        public init(inSize: Int, in0: Double, in1: Double, outSize: Int, outFirst: Int = 0, outCount: Int? = nil) {
            self.inSize = inSize; self.in0 = in0; self.in1 = in1; self.outSize = outSize
            self.outFirst = outFirst; self.outCount = outCount ?? outSize
        }

        /// A plain resize of `inSize` pixels to `outSize`.
        public static func resize(_ inSize: Int, to outSize: Int) -> Axis {
            Axis(inSize: inSize, in0: 0, in1: Double(inSize), outSize: outSize)
        }
    }

    /// Per-output-pixel source window and fixed-point weights.
    public struct Coefficients: Sendable {
        /// First source pixel and tap count per output pixel.
        public var start: [Int32], taps: [Int32]
        /// `kernelSize` weights per output pixel (sum 2^22 up to rounding).
        public var weights: [Int32]
        public var kernelSize: Int

        /// The source pixels any output reads: `[lo, hi)`.
        public var sourceRange: Range<Int> {
            var lo = Int.max, hi = 0
            for i in start.indices { lo = Swift.min(lo, Int(start[i])); hi = Swift.max(hi, Int(start[i] + taps[i])) }
            return lo..<hi
        }
    }

    /// Pillow's `precompute_coeffs` with the bilinear (triangle) filter, then `normalize_coeffs_8bpc`.
    public static func coefficients(_ a: Axis) -> Coefficients {
        let scale = (a.in1 - a.in0) / Double(a.outSize)
        let filterScale = Swift.max(scale, 1)
        let support = 1.0 * filterScale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        var start = [Int32](repeating: 0, count: a.outCount), taps = start
        var weights = [Int32](repeating: 0, count: a.outCount * ksize)
        var k = [Double](repeating: 0, count: ksize)
        let inv = 1 / filterScale
        for o in 0..<a.outCount {
            let xx = a.outFirst + o
            let center = a.in0 + (Double(xx) + 0.5) * scale
            var xmin = Int(center - support + 0.5)  // C's (int) truncates toward zero, as Pillow does
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > a.inSize { xmax = a.inSize }
            let n = Swift.max(xmax - xmin, 0)
            var ww = 0.0
            for x in 0..<n {
                let t = abs((Double(x + xmin) - center + 0.5) * inv)
                let w = t < 1 ? 1 - t : 0
                k[x] = w; ww += w
            }
            for x in 0..<n {
                let v = ww != 0 ? k[x] / ww : k[x]
                let f = v * Double(1 << precisionBits)
                weights[o * ksize + x] = Int32(v < 0 ? (-0.5 + f) : (0.5 + f))
            }
            start[o] = Int32(xmin); taps[o] = Int32(n)
        }
        return Coefficients(start: start, taps: taps, weights: weights, kernelSize: ksize)
    }

    /// Scratch reused across calls (one per loader worker).
    public final class Scratch {
        var intermediate = [UInt8]()
        var accumulator = [Int32]()
        public init() {}
    }

    /// Resamples `src` into planar [C, rows.outCount, columns.outCount] bytes at `out`.
    /// - Parameters:
    ///   - originX, originY: the `src` coordinates of pixel 0 of the axes' `[0, inSize)` extents (a crop's corner);
    ///     may be negative when `src` holds only the part of the extent the filters read.
    public static func resample(_ src: ImageView, originX: Int = 0, originY: Int = 0, columns: Coefficients,
                                rows: Coefficients, into out: UnsafeMutablePointer<UInt8>, scratch: Scratch) {
        let c = src.channels, outW = columns.start.count, outH = rows.start.count
        let used = rows.sourceRange
        let usedH = used.count
        if scratch.intermediate.count < c * usedH * outW {
            scratch.intermediate = [UInt8](repeating: 0, count: c * usedH * outW)
        }
        let half = Int32(1) << (precisionBits - 1)
        if scratch.accumulator.count < outW { scratch.accumulator = [Int32](repeating: 0, count: outW) }
        scratch.intermediate.withUnsafeMutableBufferPointer { tmpBuffer in
            let tmp = tmpBuffer.baseAddress!  // [C, usedH, outW]
            // Horizontal pass over the source rows the vertical pass needs.
            columns.weights.withUnsafeBufferPointer { w in
                let kw = w.baseAddress!, ks = columns.kernelSize, xs = src.columnStride
                for y in 0..<usedH {
                    let rowOffset = (originY + used.lowerBound + y) * src.rowStride
                    if c == 3 && src.channelStride == 1 && xs == 3 {
                        // Interleaved RGB: the three channels share each tap's weight.
                        let d0 = tmp + y * outW, d1 = tmp + (usedH + y) * outW, d2 = tmp + (2 * usedH + y) * outW
                        // One 4-lane multiply-add per tap (R, G, B and a lane that reads the next pixel's red and
                        // is dropped); the source always has a byte after the last pixel a window reads (JPEG
                        // rows carry a margin, and the last row's margin is the buffer's slack).
                        let start = columns.start, taps = columns.taps
                        for o in 0..<outW {
                            let n = Int(taps[o]), k = kw + o * ks
                            var p = UnsafeRawPointer(src.base + (rowOffset + (originX + Int(start[o])) * 3))
                            var acc = SIMD4<Int32>(repeating: half)
                            for t in 0..<n {
                                let px = SIMD4<Int32>(truncatingIfNeeded: p.loadUnaligned(as: SIMD4<UInt8>.self))
                                acc &+= px &* SIMD4(repeating: k[t])
                                p += 3
                            }
                            d0[o] = clip8(acc[0]); d1[o] = clip8(acc[1]); d2[o] = clip8(acc[2])
                        }
                    } else {
                        for ch in 0..<c {
                            let row = src.base + (ch * src.channelStride + rowOffset)
                            let dst = tmp + (ch * usedH + y) * outW
                            for o in 0..<outW {
                                let n = Int(columns.taps[o]), k = kw + o * ks
                                var p = row + (originX + Int(columns.start[o])) * xs
                                var acc = half
                                for t in 0..<n { acc &+= Int32(p.pointee) &* k[t]; p += xs }
                                dst[o] = clip8(acc)
                            }
                        }
                    }
                }
            }
            // Vertical pass: whole rows at a time (vectorises over x).
            rows.weights.withUnsafeBufferPointer { w in
                scratch.accumulator.withUnsafeMutableBufferPointer { accBuffer in
                    let acc = accBuffer.baseAddress!
                    for ch in 0..<c {
                        let plane = tmp + ch * usedH * outW
                        let dst = out + ch * outH * outW
                        for o in 0..<outH {
                            let s = Int(rows.start[o]) - used.lowerBound, n = Int(rows.taps[o])
                            let k = w.baseAddress! + o * rows.kernelSize
                            acc.update(repeating: half, count: outW)
                            for t in 0..<n {
                                let src = plane + (s + t) * outW, wt = k[t]
                                for x in 0..<outW { acc[x] &+= Int32(src[x]) &* wt }
                            }
                            let d = dst + o * outW
                            for x in 0..<outW { d[x] = clip8(acc[x]) }
                        }
                    }
                }
            }
        }
    }

    /// `acc >> 22` clamped to 0...255, without branches (this runs once per output byte per pass).
    @inline(__always) static func clip8(_ acc: Int32) -> UInt8 {
        var v = acc >> precisionBits
        v &= ~(v >> 31)          // negative → 0
        v |= (255 &- v) >> 31    // above 255 → all ones, whose low byte is 255
        return UInt8(truncatingIfNeeded: v)
    }
}
