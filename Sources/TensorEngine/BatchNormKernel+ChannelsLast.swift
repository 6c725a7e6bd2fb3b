/// Batch normalisation over channels-last tensors ([N, HW, C]: what oneDNN convolutions write), with the semantics of
/// the NCHW kernels: two-pass statistics with Float partials per (sample, channel) and Double across samples — so
/// the statistics do not depend on how the batch is split over threads or ranks —, the same `reduce` protocol for
/// synchronised batch norm, and a fusable ReLU.
///
/// Vectorisation: each loop runs over blocks of 16 channels whose accumulators stay in registers while it walks the
/// rows (stride C) of one tile (`tiles`); channels past the last full block run scalar. (Written as plain per-row
/// loops over C, the compiler could not keep the accumulators in registers — the pointers may alias — and batch norm
/// backward took 43 % of a bf16 ResNet-20 step.) Backward: BatchNormKernel+ChannelsLastBackward.swift.
extension BatchNormKernel {
    /// partials[n, c] = Σᵢ f(x[n, i, c]) for f = identity (`centre` nil) or (x − centre)² in Float.
    private static func sampleSums<X: NormInput>(_ partials: UnsafeMutablePointer<Float>, _ x: UnsafePointer<X>,
                                                 batch: Int, channels C: Int, spatial: Int,
                                                 centre: UnsafePointer<Float>?) {
        let blocks = C / 16
        Parallel.pieces(batch) { _, range in
            for n in range {
                let xn = x + n * spatial * C, out = partials + n * C
                tiles(0..<spatial, channels: C) { tile in
                    let first = tile.lowerBound == 0
                    for b in 0..<blocks {
                        let c0 = b * 16
                        var acc = first ? Float16x() : load(out + c0)
                        if let centre {
                            let mu = load(centre + c0)
                            for i in tile { let d = X.load16(xn + i * C + c0) - mu; acc += d * d }
                        } else {
                            for i in tile { acc += X.load16(xn + i * C + c0) }
                        }
                        store(acc, out + c0)
                    }
                    for c in (blocks * 16)..<C {
                        var s: Float = first ? 0 : out[c]
                        let mu = centre?[c] ?? 0
                        for i in tile {
                            let x = X.value(xn + i * C + c), v = x - mu
                            s += centre == nil ? x : v * v
                        }
                        out[c] = s
                    }
                }
            }
        }
    }

    /// Calls `body` on consecutive tiles of `range` (rows of C channels) of about 64 KB in Float: the 16-channel
    /// blocks' walks over one tile then find it in the caches (walking a whole sample or chunk per block read every
    /// bf16 line twice from memory and, on ResNet-18's larger layers, each Float one once per block). Every element's
    /// arithmetic, and each channel's order of summation, is as without tiles.
    @inline(__always)
    static func tiles(_ range: Range<Int>, channels C: Int, _ body: (Range<Int>) -> Void) {
        let step = Swift.max(1, 16384 / Swift.max(C, 1))
        var start = range.lowerBound
        while start < range.upperBound {
            let end = Swift.min(start + step, range.upperBound)
            body(start..<end)
            start = end
        }
    }

    /// Σₙ partials[n, c] in Double, in sample order (the same on any thread count).
    static func sumOverSamples(_ partials: UnsafePointer<Float>, batch: Int, channels C: Int,
                               into sums: UnsafeMutablePointer<Double>) {
        sums.update(repeating: 0, count: C)
        for n in 0..<batch { for c in 0..<C { sums[c] += Double(partials[n * C + c]) } }
    }

    /// Training forward on channels-last x, y [N, HW, C]; as `forwardTraining`. x is Float or bf16, and so is y.
    static func channelsLastForwardTraining<X: NormInput, Y: NormOutput>(
        y: UnsafeMutablePointer<Y>, mean: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>,
        x: UnsafePointer<X>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        runningMean: UnsafeMutablePointer<Float>, runningVar: UnsafeMutablePointer<Float>,
        batch: Int, channels C: Int, spatial: Int, momentum: Float, eps: Float, relu: Bool = false,
        reduce: Reduce? = nil, residual: UnsafePointer<Float>? = nil, copy: UnsafeMutablePointer<BFloat16>? = nil
    ) {
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: batch * C)
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: C + 1)
        let scale = UnsafeMutablePointer<Float>.allocate(capacity: C)
        defer { partials.deallocate(); sums.deallocate(); scale.deallocate() }
        sampleSums(partials, x, batch: batch, channels: C, spatial: spatial, centre: nil)
        sumOverSamples(partials, batch: batch, channels: C, into: sums)
        sums[C] = Double(batch * spatial)
        reduce?(sums, C + 1)
        let m = sums[C]
        for c in 0..<C { mean[c] = Float(sums[c] / m) }
        sampleSums(partials, x, batch: batch, channels: C, spatial: spatial, centre: mean)
        sumOverSamples(partials, batch: batch, channels: C, into: sums)
        reduce?(sums, C)
        for c in 0..<C {
            let variance = sums[c] / m
            let inv = Float(1 / (variance + Double(eps)).squareRoot())
            invStd[c] = inv
            let unbiased = m > 1 ? variance * m / (m - 1) : variance
            runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean[c]
            runningVar[c] = (1 - momentum) * runningVar[c] + momentum * Float(unbiased)
            scale[c] = gamma[c] * inv
        }
        normalizeRows(y, x, batch * spatial, C, shift: mean, scale: scale, beta: beta, relu: relu, residual: residual,
                      copy: copy)
    }

    /// Evaluation forward on channels-last tensors with running statistics. x is Float or bf16.
    static func channelsLastForwardInference<X: NormInput>(
        y: UnsafeMutablePointer<Float>, x: UnsafePointer<X>, gamma: UnsafePointer<Float>,
        beta: UnsafePointer<Float>, runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels C: Int, spatial: Int, eps: Float, relu: Bool = false,
        residual: UnsafePointer<Float>? = nil
    ) {
        // [scale | shift | zeros]: y = (x − 0)·s + t, bit for bit x·s + t.
        let affine = UnsafeMutablePointer<Float>.allocate(capacity: 3 * C)
        defer { affine.deallocate() }
        for c in 0..<C {
            (affine[c], affine[C + c]) = inferenceAffine(gamma[c], beta[c], runningMean[c], runningVar[c], eps)
            affine[2 * C + c] = 0
        }
        normalizeRows(y, x, batch * spatial, C, shift: affine + 2 * C, scale: affine, beta: affine + C, relu: relu,
                      residual: residual)
    }

    /// y = (x − shift)·scale + beta per channel over `rows` rows of C values, plus `residual` (same layout) when
    /// given, then clamped at 0 with `relu` — a block's sum and ReLU in one pass, the bits of `ElementwiseKernels
    /// .addRelu`. `copy`: y rounded to bf16 as well (nearest, ties to even), for a bf16 convolution reading y.
    private static func normalizeRows<X: NormInput, Y: NormOutput>(
        _ y: UnsafeMutablePointer<Y>, _ x: UnsafePointer<X>, _ rows: Int, _ C: Int, shift: UnsafePointer<Float>,
        scale: UnsafePointer<Float>, beta: UnsafePointer<Float>, relu: Bool, residual: UnsafePointer<Float>?,
        copy: UnsafeMutablePointer<BFloat16>? = nil
    ) {
        let blocks = C / 16
        Parallel.pieces(rows) { _, range in
            let zero = Float16x()
            tiles(range, channels: C) { tile in
                for b in 0..<blocks {
                    let c0 = b * 16
                    let mu = load(shift + c0), sc = load(scale + c0), be = load(beta + c0)
                    @inline(__always) func rows(_ add: (Int) -> Float16x) {  // one branch-free body per case
                        for r in tile {
                            let o = r * C + c0
                            var v = (X.load16(x + o) - mu) * sc + be + add(o)
                            if relu { v.replace(with: zero, where: v .< zero) }
                            Y.store16(v, y + o)
                            if let copy { BFloat16.store16(v, copy + o) }
                        }
                    }
                    // x + (−0) is x for every x (the compiler drops it); + 0 would turn −0 into +0.
                    if let residual { rows { load(residual + $0) } } else { rows { _ in Float16x(repeating: -0.0) } }
                }
                for c in (blocks * 16)..<C {
                    for r in tile {
                        let o = r * C + c
                        var v = (X.value(x + o) - shift[c]) * scale[c] + beta[c] + (residual?[o] ?? -0.0)
                        if relu { v = Swift.max(v, 0) }
                        Y.store(v, y + o)
                        if let copy { BFloat16.store(v, copy + o) }
                    }
                }
            }
        }
    }
}
