/// The parameter-free "option A" shortcut of He et al. (2016) for CIFAR ResNets: subsample by the stride and pad the
/// channel dimension with zeros, `padFront` channels before and the rest after.
public enum ShortcutKernels {
    /// y [N, Cout, oh, ow] from x [N, Cin, H, W]; y[n, c + padFront, i, j] = x[n, c, i·s, j·s], zero elsewhere.
    public static func forward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, batch: Int,
                               inChannels: Int, height: Int, width: Int, outChannels: Int, stride: Int) {
        let oh = (height - 1) / stride + 1, ow = (width - 1) / stride + 1
        let pad = (outChannels - inChannels) / 2
        Parallel.pieces(batch) { _, range in
            for n in range {
                let yn = y + n * outChannels * oh * ow
                yn.update(repeating: 0, count: outChannels * oh * ow)
                for c in 0..<inChannels {
                    let xp = x + (n * inChannels + c) * height * width
                    let yp = yn + (c + pad) * oh * ow
                    for i in 0..<oh {
                        for j in 0..<ow { yp[i * ow + j] = xp[i * stride * width + j * stride] }
                    }
                }
            }
        }
    }

    /// dx += the transpose of `forward` applied to dy (accumulates into dx).
    public static func backwardAccumulate(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, batch: Int,
                                          inChannels: Int, height: Int, width: Int, outChannels: Int, stride: Int) {
        let oh = (height - 1) / stride + 1, ow = (width - 1) / stride + 1
        let pad = (outChannels - inChannels) / 2
        Parallel.pieces(batch) { _, range in
            for n in range {
                for c in 0..<inChannels {
                    let dxp = dx + (n * inChannels + c) * height * width
                    let dyp = dy + (n * outChannels + c + pad) * oh * ow
                    for i in 0..<oh {
                        for j in 0..<ow { dxp[i * stride * width + j * stride] += dyp[i * ow + j] }
                    }
                }
            }
        }
    }
}

extension ShortcutKernels {
    /// `forward` on channels-last tensors: y [N, oh, ow, Cout] from x [N, H, W, Cin].
    public static func forwardChannelsLast(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, batch: Int,
                                           inChannels: Int, height: Int, width: Int, outChannels: Int, stride: Int) {
        channelsLastPositions(batch, inChannels, height, width, outChannels, stride) { xr, yr, pad in
            (y + yr).update(repeating: 0, count: outChannels)
            (y + yr + pad).update(from: x + xr, count: inChannels)
        }
    }

    /// `backwardAccumulate` on channels-last tensors (accumulates into dx [N, H, W, Cin]).
    public static func backwardAccumulateChannelsLast(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                                      batch: Int, inChannels: Int, height: Int, width: Int,
                                                      outChannels: Int, stride: Int) {
        channelsLastPositions(batch, inChannels, height, width, outChannels, stride) { xr, yr, pad in
            let dxr = dx + xr, dyr = dy + yr + pad
            for c in 0..<inChannels { dxr[c] += dyr[c] }
        }
    }

    /// Calls `body(x row, y row, front padding)` — element offsets of the input pixel and of the output pixel that
    /// the shortcut connects — for every output pixel, the batch split over the workers.
    private static func channelsLastPositions(_ batch: Int, _ inChannels: Int, _ height: Int, _ width: Int,
                                              _ outChannels: Int, _ stride: Int,
                                              _ body: (_ xRow: Int, _ yRow: Int, _ pad: Int) -> Void) {
        let oh = (height - 1) / stride + 1, ow = (width - 1) / stride + 1
        let pad = (outChannels - inChannels) / 2
        Parallel.pieces(batch) { _, range in
            for n in range {
                for i in 0..<oh {
                    for j in 0..<ow {
                        body(((n * height + i * stride) * width + j * stride) * inChannels,
                             ((n * oh + i) * ow + j) * outChannels, pad)
                    }
                }
            }
        }
    }
}
