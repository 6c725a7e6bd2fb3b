import Foundation

/// Geometry of a 2-D convolution or pooling window over an NCHW tensor.
public struct ConvGeometry: Equatable, Sendable {
    public var channels: Int, height: Int, width: Int
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    public var padH: Int, padW: Int

    public init(channels: Int, height: Int, width: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
        self.channels = channels; self.height = height; self.width = width
        kernelH = kernel.0; kernelW = kernel.1
        strideH = stride.0; strideW = stride.1
        padH = padding.0; padW = padding.1
        precondition(kernelH > 0 && kernelW > 0 && strideH > 0 && strideW > 0 && padH >= 0 && padW >= 0,
                     "invalid window \(kernel) stride \(stride) padding \(padding)")
        precondition(outH > 0 && outW > 0, "window \(kernel) with padding \(padding) does not fit \(height)x\(width)")
    }

    public var outH: Int { (height + 2 * padH - kernelH) / strideH + 1 }
    public var outW: Int { (width + 2 * padW - kernelW) / strideW + 1 }
    /// Rows of the column matrix: channels · kh · kw.
    public var columnRows: Int { channels * kernelH * kernelW }
    /// Output pixels per image.
    public var outPixels: Int { outH * outW }
    /// Leading dimension for column matrices: the output pixel count, padded so that rows never sit a multiple of
    /// 1 KiB apart (4 KiB-aliasing made OpenBLAS packing 1.7x slower at 32x32 outputs, measured).
    public var columnStride: Int {
        var ld = (outPixels + 15) / 16 * 16
        if ld % 256 == 0 { ld += 16 }
        return ld
    }
    /// Stride 1 and output size equal to input size (odd kernel, padding (k − 1)/2): the fast im2col path.
    public var isSameStrideOne: Bool {
        strideH == 1 && strideW == 1 && kernelH == 2 * padH + 1 && kernelW == 2 * padW + 1
    }
    /// The output columns whose tap `kx` lands inside the input row, 0 ≤ ox·strideW − padW + kx < width (empty
    /// where none does).
    public func outputColumns(tap kx: Int) -> Range<Int> {
        let shift = kx - padW
        let lo = Swift.min(outW, shift >= 0 ? 0 : (-shift + strideW - 1) / strideW)
        let hi = shift >= width ? lo : Swift.max(lo, Swift.min(outW, (width - 1 - shift) / strideW + 1))
        return lo..<hi
    }

    /// True for a 1x1, stride-1, unpadded window: the input already is the column matrix.
    public var isPointwise: Bool { kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 }
}

/// im2col / col2im for one image. `x` is [C, H, W]; `col` is [C·kh·kw, ld] with output pixels along a row.
public enum Im2col {
    /// Unrolls image `x` into `col` (padding reads as zero).
    public static func forward(_ g: ConvGeometry, x: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>, ld: Int) {
        if g.isSameStrideOne { return forwardSame(g, x: x, col: col, ld: ld) }
        let oh = g.outH, ow = g.outW, H = g.height, W = g.width
        var row = 0
        for c in 0..<g.channels {
            let xc = x + c * H * W
            for ki in 0..<g.kernelH {
                for kj in 0..<g.kernelW {
                    let dst = col + row * ld
                    // Output columns whose input column lies inside the image: ow in [owLo, owHi).
                    let cols = g.outputColumns(tap: kj), owLo = cols.lowerBound, owHi = cols.upperBound
                    for y in 0..<oh {
                        let iy = y * g.strideH - g.padH + ki
                        let d = dst + y * ow
                        if iy < 0 || iy >= H || owHi <= owLo {
                            vzero(d, ow)
                            continue
                        }
                        let src = xc + iy * W
                        if owLo > 0 { vzero(d, owLo) }
                        if g.strideW == 1 {
                            vcopy(d + owLo, src + (owLo - g.padW + kj), owHi - owLo)
                        } else {
                            var ix = owLo * g.strideW - g.padW + kj
                            for xo in owLo..<owHi { d[xo] = src[ix]; ix += g.strideW }
                        }
                        if owHi < ow { vzero(d + owHi, ow - owHi) }
                    }
                    row += 1
                }
            }
        }
    }

    /// Folds `col` back onto image gradient `dx` (accumulates: `dx` must be zeroed or hold a partial sum).
    public static func backward(_ g: ConvGeometry, col: UnsafePointer<Float>, ld: Int, dx: UnsafeMutablePointer<Float>) {
        let oh = g.outH, ow = g.outW, H = g.height, W = g.width
        var row = 0
        for c in 0..<g.channels {
            let dxc = dx + c * H * W
            for ki in 0..<g.kernelH {
                for kj in 0..<g.kernelW {
                    let src = col + row * ld
                    let cols = g.outputColumns(tap: kj), owLo = cols.lowerBound, owHi = cols.upperBound
                    if owHi > owLo {
                        for y in 0..<oh {
                            let iy = y * g.strideH - g.padH + ki
                            if iy < 0 || iy >= H { continue }
                            let s = src + y * ow
                            let d = dxc + iy * W
                            if g.strideW == 1 {
                                vaccumulate(d + (owLo - g.padW + kj), s + owLo, owHi - owLo)
                            } else {
                                var ix = owLo * g.strideW - g.padW + kj
                                for xo in owLo..<owHi { d[ix] += s[xo]; ix += g.strideW }
                            }
                        }
                    }
                    row += 1
                }
            }
        }
    }

    // MARK: - Stride-1 "same" convolutions

    /// Stride 1 with output size = input size (k = 2p + 1): each column row is the input plane shifted by
    /// δ = (ki − p)·W + (kj − p). It is copied as one contiguous block over the valid output rows, then the columns
    /// that wrapped around a row edge are zeroed — about 5x fewer instructions than row-by-row copying.
    static func forwardSame(_ g: ConvGeometry, x: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>, ld: Int) {
        let H = g.height, W = g.width, P = H * W
        var row = 0
        for c in 0..<g.channels {
            let xc = x + c * P
            for ki in 0..<g.kernelH {
                let dy = ki - g.padH
                let y0 = Swift.max(0, -dy), y1 = Swift.min(H, H - dy)  // output rows with a valid input row
                for kj in 0..<g.kernelW {
                    let dxs = kj - g.padW
                    let dst = col + row * ld
                    if y0 > 0 { vzero(dst, y0 * W) }
                    if y1 < H { vzero(dst + y1 * W, (H - y1) * W) }
                    if y1 > y0 {
                        let lo = y0 * W, n = (y1 - y0) * W
                        let delta = dy * W + dxs
                        // Element lo + n − 1 + δ may run one past the plane when dxs > 0; those reads land in a
                        // wrapped column and are zeroed below, so clamp the copy to the plane instead.
                        let first = lo + delta, last = Swift.min(lo + n + delta, P)
                        let start = Swift.max(first, 0)
                        vcopy(dst + (start - delta), xc + start, last - start)
                        if first < 0 { vzero(dst + lo, -first) }
                        if lo + n + delta > P { vzero(dst + (last - delta), lo + n + delta - P) }
                        // Zero the wrapped columns: x < −dxs (left edge) or x ≥ W − dxs (right edge).
                        if dxs < 0 {
                            zeroColumns(dst, width: W, rows: y0..<y1, columns: 0..<(-dxs))
                        } else if dxs > 0 {
                            zeroColumns(dst, width: W, rows: y0..<y1, columns: (W - dxs)..<W)
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// Transpose of `forwardSame`: dx[i + δ] += col[i] over the valid block, skipping wrapped columns. The centre tap
    /// (δ = 0, covering the whole plane) is written first, so `dx` needs no zeroing beforehand. `col` is clobbered
    /// (its wrapped columns are zeroed in place).
    static func backwardSame(_ g: ConvGeometry, col: UnsafeMutablePointer<Float>, ld: Int, dx: UnsafeMutablePointer<Float>) {
        let H = g.height, W = g.width, P = H * W, taps = g.kernelH * g.kernelW
        let centre = g.padH * g.kernelW + g.padW
        for c in 0..<g.channels {
            let dxc = dx + c * P
            vcopy(dxc, col + (c * taps + centre) * ld, P)
            for ki in 0..<g.kernelH {
                let dy = ki - g.padH
                let y0 = Swift.max(0, -dy), y1 = Swift.min(H, H - dy)
                for kj in 0..<g.kernelW where !(ki == g.padH && kj == g.padW) && y1 > y0 {
                    let dxs = kj - g.padW
                    let src = col + (c * taps + ki * g.kernelW + kj) * ld
                    if dxs < 0 {
                        zeroColumns(src, width: W, rows: y0..<y1, columns: 0..<(-dxs))
                    } else if dxs > 0 {
                        zeroColumns(src, width: W, rows: y0..<y1, columns: (W - dxs)..<W)
                    }
                    let lo = y0 * W, n = (y1 - y0) * W, delta = dy * W + dxs
                    let start = Swift.max(lo + delta, 0), end = Swift.min(lo + n + delta, P)
                    vaccumulate(dxc + start, src + (start - delta), end - start)
                }
            }
        }
    }
}
