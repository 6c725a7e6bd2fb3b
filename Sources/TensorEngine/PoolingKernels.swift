/// Max, average and global-average pooling over NCHW, forward and backward side by side.
public enum PoolingKernels {
    // MARK: - Max pooling

    /// A max-pool winner: its tap in the window, ki·kernelW + kj (one byte per output: windows of at most 255
    /// taps), or `noWinner` for a window entirely in the padding.
    public typealias Winner = UInt8
    public static let noWinner: Winner = 255

    /// y[n,c] = max over each window; `argmax` [N·C·outH·outW] records the winner's tap, for backward. Padding
    /// never wins (PyTorch pads with −∞).
    public static func maxForward(y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Winner>,
                                  x: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry) {
        checkTaps(g)
        let H = g.height, W = g.width, oh = g.outH, ow = g.outW
        Parallel.pieces(batch * g.channels) { _, range in
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
                                   argmax: UnsafePointer<Winner>, batch: Int, geometry g: ConvGeometry) {
        let hw = g.height * g.width, ohw = g.outH * g.outW, taps = TapPositions(g)
        Parallel.pieces(batch * g.channels) { _, range in
            for plane in range {
                let dxp = dx + plane * hw, dyp = dy + plane * ohw, ap = argmax + plane * ohw
                dxp.update(repeating: 0, count: hw)
                for o in 0..<ohw where ap[o] != noWinner { dxp[taps.origin(o) + taps.offsets[Int(ap[o])]] += dyp[o] }
            }
        }
    }

    /// Stops on a window with more taps than a `Winner` can name (a programming error: the models' pools are 2x2
    /// and 3x3).
    static func checkTaps(_ g: ConvGeometry) {
        if g.kernelH * g.kernelW >= Int(noWinner) { fatalError("max pooling takes windows of at most 254 taps") }
    }

    /// Where winners land: output o's window starts at input position `origin(o)` (iy·W + ix of its top-left tap,
    /// possibly in the padding) and tap t lies `offsets[t]` = ki·W + kj further on.
    struct TapPositions {
        let g: ConvGeometry
        let offsets: [Int]

        init(_ g: ConvGeometry) {
            self.g = g
            offsets = (0..<(g.kernelH * g.kernelW)).map { ($0 / g.kernelW) * g.width + $0 % g.kernelW }
        }

        @inline(__always)
        func origin(_ o: Int) -> Int {
            (o / g.outW * g.strideH - g.padH) * g.width + (o % g.outW * g.strideW - g.padW)
        }
    }

    /// body(iy·W + ix, tap) for each tap of output (oy, ox)'s window inside the image, in window order (rows, then
    /// columns): the order the max kernels' first-maximum rule depends on.
    @inline(__always)
    static func forEachTap(_ g: ConvGeometry, _ oy: Int, _ ox: Int, _ body: (Int, Int) -> Void) {
        for ki in 0..<g.kernelH {
            let iy = oy * g.strideH - g.padH + ki
            if iy < 0 || iy >= g.height { continue }
            for kj in 0..<g.kernelW {
                let ix = ox * g.strideW - g.padW + kj
                if ix >= 0 && ix < g.width { body(iy * g.width + ix, ki * g.kernelW + kj) }
            }
        }
    }

    /// The maximum of value(i) over output (oy, ox)'s window (i = iy·W + ix) and the winner's tap: the first
    /// maximum in window order, a NaN wins; (−∞, `noWinner`) for a window entirely in the padding.
    @inline(__always)
    static func windowMax(_ g: ConvGeometry, _ oy: Int, _ ox: Int, _ value: (Int) -> Float) -> (Float, Winner) {
        var best = -Float.infinity, at = noWinner
        forEachTap(g, oy, ox) { i, tap in
            let v = value(i)
            if v > best || at == noWinner || v.isNaN { best = v; at = Winner(tap) }
        }
        return (best, at)
    }

    /// `maxForward` on channels-last tensors: x [N, H, W, C], y and argmax [N, outH, outW, C] (argmax as in
    /// `maxForward`: the winner's tap). The same winners — window order, the first maximum, a NaN wins — with the
    /// channels innermost (contiguous), so the input is read once, not converted to planes.
    public static func maxForwardChannelsLast(y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Winner>,
                                              x: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry) {
        checkTaps(g)
        let H = g.height, W = g.width, C = g.channels, oh = g.outH, ow = g.outW
        Parallel.pieces(batch * oh) { _, range in
            for row in range {
                let n = row / oh, oy = row % oh
                let xn = x + n * H * W * C
                for ox in 0..<ow {
                    let yo = y + (row * ow + ox) * C, ao = argmax + (row * ow + ox) * C
                    // 16 channels in registers (the winner's tap as a Float, −1 for none), then the rest.
                    for c0 in stride(from: 0, to: C - 15, by: 16) {
                        var best = Float16x(repeating: -.infinity), at = Float16x(repeating: -1)
                        forEachTap(g, oy, ox) { i, tap in
                            let v = load(xn + i * C + c0)
                            let take = (v .> best) .| (at .< Float16x()) .| (v .!= v)
                            best.replace(with: v, where: take)
                            at.replace(with: Float16x(repeating: Float(tap)), where: take)
                        }
                        store(best, yo + c0)
                        for l in 0..<16 { ao[c0 + l] = at[l] < 0 ? noWinner : Winner(at[l]) }
                    }
                    for c in (C / 16 * 16)..<C { (yo[c], ao[c]) = windowMax(g, oy, ox) { xn[$0 * C + c] } }
                }
            }
        }
    }

    /// `maxBackward` on channels-last tensors (dx [N, H, W, C], dy and argmax [N, outH, outW, C]; overwrites dx).
    public static func maxBackwardChannelsLast(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                               argmax: UnsafePointer<Winner>, batch: Int, geometry g: ConvGeometry) {
        let hw = g.height * g.width, ohw = g.outH * g.outW, C = g.channels, taps = TapPositions(g)
        Parallel.pieces(batch) { _, range in
            for n in range {
                let dxn = dx + n * hw * C, dyn = dy + n * ohw * C, an = argmax + n * ohw * C
                dxn.update(repeating: 0, count: hw * C)
                for o in 0..<ohw {
                    let origin = taps.origin(o)
                    for c in 0..<C where an[o * C + c] != noWinner {
                        dxn[(origin + taps.offsets[Int(an[o * C + c])]) * C + c] += dyn[o * C + c]
                    }
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
        Parallel.pieces(batch * g.channels) { _, range in
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
        Parallel.pieces(batch * g.channels) { _, range in
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
