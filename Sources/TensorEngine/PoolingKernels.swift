/// Max, average and global-average pooling over NCHW, forward and backward side by side.
public enum PoolingKernels {
    // MARK: - Max pooling

    /// y[n,c] = max over each window; `argmax` [N·C·outH·outW] records the flat input index (within the channel
    /// plane) of the winner, for backward. Padding never wins (PyTorch pads with −∞).
    public static func maxForward(y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>,
                                  x: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry) {
        let H = g.height, W = g.width, oh = g.outH, ow = g.outW
        Parallel.chunks(batch * g.channels) { _, range in
            for plane in range {
                let xp = x + plane * H * W, yp = y + plane * oh * ow, ap = argmax + plane * oh * ow
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        (yp[oy * ow + ox], ap[oy * ow + ox]) = windowMax(g, oy, ox) { xp[$0] }
                    }
                }
            }
        }
    }

    /// dx = scatter of dy onto the recorded winners (overwrites dx).
    public static func maxBackward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                   argmax: UnsafePointer<Int32>, batch: Int, geometry g: ConvGeometry) {
        let hw = g.height * g.width, ohw = g.outH * g.outW
        Parallel.chunks(batch * g.channels) { _, range in
            for plane in range {
                let dxp = dx + plane * hw, dyp = dy + plane * ohw, ap = argmax + plane * ohw
                dxp.update(repeating: 0, count: hw)
                for i in 0..<ohw where ap[i] >= 0 { dxp[Int(ap[i])] += dyp[i] }
            }
        }
    }

    /// body(iy·W + ix) for each tap of output (oy, ox)'s window inside the image, in window order (rows, then
    /// columns): the order the max kernels' first-maximum rule depends on.
    @inline(__always)
    static func forEachTap(_ g: ConvGeometry, _ oy: Int, _ ox: Int, _ body: (Int) -> Void) {
        for ki in 0..<g.kernelH {
            let iy = oy * g.strideH - g.padH + ki
            if iy < 0 || iy >= g.height { continue }
            for kj in 0..<g.kernelW {
                let ix = ox * g.strideW - g.padW + kj
                if ix >= 0 && ix < g.width { body(iy * g.width + ix) }
            }
        }
    }

    /// The maximum of value(i) over output (oy, ox)'s window and its index i (iy·W + ix): the first maximum in
    /// window order, a NaN wins; (−∞, −1) for a window entirely in the padding.
    @inline(__always)
    static func windowMax(_ g: ConvGeometry, _ oy: Int, _ ox: Int, _ value: (Int) -> Float) -> (Float, Int32) {
        var best = -Float.infinity, at: Int32 = -1
        forEachTap(g, oy, ox) { i in
            let v = value(i)
            if v > best || at < 0 || v.isNaN { best = v; at = Int32(i) }
        }
        return (best, at)
    }

    /// `maxForward` on channels-last tensors: x [N, H, W, C], y and argmax [N, outH, outW, C] (argmax as in
    /// `maxForward`: the winner's iy·W + ix in its plane). The same winners — window order, the first maximum, a NaN
    /// wins — with the channels innermost (contiguous), so the input is read once, not converted to planes.
    public static func maxForwardChannelsLast(y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>,
                                              x: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry) {
        let H = g.height, W = g.width, C = g.channels, oh = g.outH, ow = g.outW
        Parallel.chunks(batch * oh) { _, range in
            for row in range {
                let n = row / oh, oy = row % oh
                let xn = x + n * H * W * C
                for ox in 0..<ow {
                    let yo = y + (row * ow + ox) * C, ao = argmax + (row * ow + ox) * C
                    // 16 channels in registers (the winner's index as a Float: exact below 2²⁴), then the rest.
                    for c0 in stride(from: 0, to: C - 15, by: 16) {
                        var best = Float16x(repeating: -.infinity), at = Float16x(repeating: -1)
                        forEachTap(g, oy, ox) { i in
                            let v = load(xn + i * C + c0)
                            let take = (v .> best) .| (at .< Float16x()) .| (v .!= v)
                            best.replace(with: v, where: take)
                            at.replace(with: Float16x(repeating: Float(i)), where: take)
                        }
                        store(best, yo + c0)
                        for l in 0..<16 { ao[c0 + l] = Int32(at[l]) }
                    }
                    for c in (C / 16 * 16)..<C { (yo[c], ao[c]) = windowMax(g, oy, ox) { xn[$0 * C + c] } }
                }
            }
        }
    }

    /// `maxBackward` on channels-last tensors (dx [N, H, W, C], dy and argmax [N, outH, outW, C]; overwrites dx).
    public static func maxBackwardChannelsLast(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                               argmax: UnsafePointer<Int32>, batch: Int, geometry g: ConvGeometry) {
        let hw = g.height * g.width, ohw = g.outH * g.outW, C = g.channels
        Parallel.chunks(batch) { _, range in
            for n in range {
                let dxn = dx + n * hw * C, dyn = dy + n * ohw * C, an = argmax + n * ohw * C
                dxn.update(repeating: 0, count: hw * C)
                for o in 0..<ohw {
                    for c in 0..<C where an[o * C + c] >= 0 { dxn[Int(an[o * C + c]) * C + c] += dyn[o * C + c] }
                }
            }
        }
    }

    // MARK: - Average pooling

    /// Average over each window, divisor = kh·kw (PyTorch's default `count_include_pad=True`).
    public static func avgForward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, batch: Int,
                                  geometry g: ConvGeometry) {
        let H = g.height, W = g.width, oh = g.outH, ow = g.outW
        let scale = 1 / Float(g.kernelH * g.kernelW)
        Parallel.chunks(batch * g.channels) { _, range in
            for plane in range {
                let xp = x + plane * H * W, yp = y + plane * oh * ow
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var s: Float = 0
                        for ki in 0..<g.kernelH {
                            let iy = oy * g.strideH - g.padH + ki
                            if iy < 0 || iy >= H { continue }
                            for kj in 0..<g.kernelW {
                                let ix = ox * g.strideW - g.padW + kj
                                if ix >= 0 && ix < W { s += xp[iy * W + ix] }
                            }
                        }
                        yp[oy * ow + ox] = s * scale
                    }
                }
            }
        }
    }

    /// dx = spread of dy / (kh·kw) over each window (overwrites dx).
    public static func avgBackward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, batch: Int,
                                   geometry g: ConvGeometry) {
        let H = g.height, W = g.width, oh = g.outH, ow = g.outW
        let scale = 1 / Float(g.kernelH * g.kernelW)
        Parallel.chunks(batch * g.channels) { _, range in
            for plane in range {
                let dxp = dx + plane * H * W, dyp = dy + plane * oh * ow
                dxp.update(repeating: 0, count: H * W)
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let v = dyp[oy * ow + ox] * scale
                        for ki in 0..<g.kernelH {
                            let iy = oy * g.strideH - g.padH + ki
                            if iy < 0 || iy >= H { continue }
                            for kj in 0..<g.kernelW {
                                let ix = ox * g.strideW - g.padW + kj
                                if ix >= 0 && ix < W { dxp[iy * W + ix] += v }
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: - Global average pooling

    /// y[n, c] = mean over H·W of x[n, c]. x [N·C, spatial], y [N·C].
    public static func globalAvgForward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, planes: Int,
                                        spatial: Int) {
        let scale = 1 / Float(spatial)
        for p in 0..<planes {
            let xp = x + p * spatial
            var s: Float = 0
            for i in 0..<spatial { s += xp[i] }
            y[p] = s * scale
        }
    }

    /// dx[n, c, :] = dy[n, c] / spatial (overwrites).
    public static func globalAvgBackward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, planes: Int,
                                         spatial: Int) {
        let scale = 1 / Float(spatial)
        for p in 0..<planes { (dx + p * spatial).update(repeating: dy[p] * scale, count: spatial) }
    }
}

extension PoolingKernels {
    /// `globalAvgForward` on channels-last x [N, HW, C] → y [N, C]; each channel summed in the same order as the NCHW
    /// kernel, so both give the same bits.
    public static func globalAvgForwardChannelsLast(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                                    batch: Int, channels C: Int, spatial: Int) {
        let scale = 1 / Float(spatial)
        for n in 0..<batch {
            let yn = y + n * C
            yn.update(repeating: 0, count: C)
            for i in 0..<spatial {
                let xr = x + (n * spatial + i) * C
                for c in 0..<C { yn[c] += xr[c] }
            }
            for c in 0..<C { yn[c] *= scale }
        }
    }

    /// dx[n, :, c] = dy[n, c] / spatial on channels-last dx (overwrites).
    public static func globalAvgBackwardChannelsLast(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                                     batch: Int, channels C: Int, spatial: Int) {
        let scale = 1 / Float(spatial)
        for n in 0..<batch {
            for i in 0..<spatial {
                let dxr = dx + (n * spatial + i) * C
                for c in 0..<C { dxr[c] = dy[n * C + c] * scale }
            }
        }
    }
}
