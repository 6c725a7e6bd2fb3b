import TensorEngine

/// The input side of the int8 bit-plane datapath (`CrossbarArray.accumulate(byteCodes:…)`): the codes of one image
/// as bytes and their im2col rows in the array's row order, written once — where the Float route makes Float codes,
/// unrolls them and copies the rows into order (three passes over 4-byte values) before the planes are cut.
extension CrossbarDatapath {
    /// out[i] = round_half_even(x[i]·scale) as a byte: the Float route's code (`codes`), for 0 ≤ x·scale ≤ 255.
    public static func byteCodes(_ x: UnsafePointer<Float>, _ count: Int, _ scale: Float,
                                 into out: UnsafeMutablePointer<UInt8>) {
        // 1.5·2²³ + v holds round(v) in its low mantissa bits (the FPU rounds half to even).
        let magic = SIMD16<Float>(repeating: 12_582_912), sv = SIMD16<Float>(repeating: scale)
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) * sv + magic
            UnsafeMutableRawPointer(out + i).storeBytes(
                of: CrossbarArray.lowBytes(unsafeBitCast(v, to: SIMD16<UInt32>.self)), as: SIMD16<UInt8>.self)
            i += 16
        }
        while i < count { out[i] = UInt8((x[i] * scale).rounded(.toNearestOrEven)); i += 1 }
    }

    /// dst[r·ld + p] = the byte code that row order[r] of image's im2col matrix holds at output position p (0 in
    /// the padding): rows are (channel, ky, kx) as `Im2col` numbers them, image is [C, H, W].
    public static func orderedColumns(_ g: ConvGeometry, image: UnsafePointer<UInt8>, order: [Int],
                               into dst: UnsafeMutablePointer<UInt8>, ld: Int) {
        let H = g.height, W = g.width, taps = g.kernelH * g.kernelW, outW = g.outW, sw = g.strideW
        for (r, q) in order.enumerated() {
            let c = q / taps, ky = (q % taps) / g.kernelW, kx = q % g.kernelW
            let plane = image + c * H * W, row = dst + r * ld
            if g.isSameStrideOne {
                shiftedPlane(plane, H, W, dy: ky - g.padH, dx: kx - g.padW, into: row)
                continue
            }
            let cols = g.outputColumns(tap: kx), lo = cols.lowerBound, hi = cols.upperBound, shift = kx - g.padW
            // Rows of a few bytes (a strided layer's output rows): plain loops, no call per row.
            for oy in 0..<g.outH {
                let iy = oy * g.strideH - g.padH + ky, out = row + oy * outW
                guard iy >= 0 && iy < H else {
                    for ox in 0..<outW { out[ox] = 0 }
                    continue
                }
                let src = plane + iy * W + shift
                for ox in 0..<lo { out[ox] = 0 }
                for ox in lo..<hi { out[ox] = src[ox * sw] }
                for ox in hi..<outW { out[ox] = 0 }
            }
        }
    }

    /// out[y·W + x] = plane[(y + dy)·W + x + dx], 0 outside the plane: one copy of the overlapping flat range, then
    /// the columns that wrapped into a neighbouring row are cleared (a flat index inside the plane with the column
    /// inside it has its row inside it too). The stride-1 "same" window's rows, without one call per short row.
    static func shiftedPlane(_ plane: UnsafePointer<UInt8>, _ H: Int, _ W: Int, dy: Int, dx: Int,
                             into out: UnsafeMutablePointer<UInt8>) {
        let count = H * W, offset = dy * W + dx
        let start = Swift.min(count, Swift.max(0, -offset)), end = Swift.max(start, Swift.min(count, count - offset))
        out.update(repeating: 0, count: start)
        (out + start).update(from: plane + start + offset, count: end - start)
        (out + end).update(repeating: 0, count: count - end)
        let clear = dx > 0 ? (W - Swift.min(dx, W))..<W : 0..<Swift.min(-dx, W)
        guard !clear.isEmpty else { return }
        for y in 0..<H { for x in clear { out[y * W + x] = 0 } }
    }
}
