/// Conversions between NCHW and channels-last (NHWC) image tensors, for layers that read only one of them.
public enum LayoutKernels {
    /// dst [N, P, C] from src [N, C, P] (P = H·W).
    public static func toChannelsLast(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, batch: Int,
                                      channels C: Int, positions P: Int) {
        Parallel.pieces(batch) { _, range in
            for n in range { transpose(dst + n * C * P, src + n * C * P, rows: C, columns: P) }
        }
    }

    /// dst [N, C, P] from src [N, P, C].
    public static func toPlanes(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, batch: Int,
                                channels C: Int, positions P: Int) {
        Parallel.pieces(batch) { _, range in
            for n in range { transpose(dst + n * C * P, src + n * C * P, rows: P, columns: C) }
        }
    }

    /// dst [columns, rows] = srcᵀ for src [rows, columns], in 16 x 16 tiles (both sides stay in cache).
    static func transpose(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, rows: Int, columns: Int) {
        var r0 = 0
        while r0 < rows {
            let r1 = Swift.min(r0 + 16, rows)
            var c0 = 0
            while c0 < columns {
                let c1 = Swift.min(c0 + 16, columns)
                for r in r0..<r1 {
                    for c in c0..<c1 { dst[c * rows + r] = src[r * columns + c] }
                }
                c0 = c1
            }
            r0 = r1
        }
    }
}

extension Tensor {
    /// This tensor in `layout`: itself when it already is, else a converted copy in `scratch` (same shape).
    public func converted(to target: Layout, using scratch: Tensor) -> Tensor {
        guard layout != target, shape.count == 4 else { return self }
        scratch.ensure(shape: shape)
        let n = shape[0], c = shape[1], p = shape[2] * shape[3]
        if target == .nhwc {
            LayoutKernels.toChannelsLast(scratch.data, data, batch: n, channels: c, positions: p)
        } else {
            LayoutKernels.toPlanes(scratch.data, data, batch: n, channels: c, positions: p)
        }
        scratch.layout = target
        return scratch
    }

    /// The tensor in Float: itself, or a bf16 tensor widened (exactly) into `scratch`, same shape and layout.
    public func widened(using scratch: Tensor) -> Tensor {
        guard elementType == .bfloat16 else { return self }
        scratch.ensure(shape: shape)
        scratch.layout = layout
        let src = bf16Data, dst = scratch.data
        Parallel.pieces(count) { _, range in
            for i in range { dst[i] = src[i].float }
        }
        return scratch
    }

    /// The contents in NCHW order whatever the layout and element type (tests, reports).
    public var planarArray: [Float] {
        if elementType == .bfloat16 { return widened(using: Tensor(shape: [0])).planarArray }
        return layout == .nchw || shape.count != 4 ? array : converted(to: .nchw, using: Tensor(shape: [0])).array
    }
}
