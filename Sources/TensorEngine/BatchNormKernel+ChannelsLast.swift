/// Batch normalisation over channels-last tensors ([N, HW, C]: what oneDNN convolutions write), with the semantics of
/// the NCHW kernels: two-pass statistics with Float partials per (sample, channel) and Double across samples — so
/// the statistics do not depend on how the batch is split over threads or ranks —, the same `reduce` protocol for
/// synchronised batch norm, and a fusable ReLU.
///
/// Vectorisation: each loop runs over blocks of 16 channels whose accumulators stay in registers while it walks the
/// rows (stride C); channels past the last full block run scalar. (Written as plain per-row loops over C, the
/// compiler could not keep the accumulators in registers — the pointers may alias — and batch norm backward took
/// 43 % of a bf16 ResNet-20 step.)
extension BatchNormKernel {
    /// partials[n, c] = Σᵢ f(x[n, i, c]) for f = identity (`centre` nil) or (x − centre)² in Float.
    private static func sampleSums<X: NormInput>(_ partials: UnsafeMutablePointer<Float>, _ x: UnsafePointer<X>,
                                                 batch: Int, channels C: Int, spatial: Int,
                                                 centre: UnsafePointer<Float>?) {
        let blocks = C / 16
        Parallel.chunks(batch) { _, range in
            for n in range {
                let xn = x + n * spatial * C, out = partials + n * C
                for b in 0..<blocks {
                    let c0 = b * 16
                    var acc = Float16x()
                    if let centre {
                        let mu = load(centre + c0)
                        for i in 0..<spatial { let d = X.load16(xn + i * C + c0) - mu; acc += d * d }
                    } else {
                        for i in 0..<spatial { acc += X.load16(xn + i * C + c0) }
                    }
                    store(acc, out + c0)
                }
                for c in (blocks * 16)..<C {
                    var s: Float = 0
                    let mu = centre?[c] ?? 0
                    for i in 0..<spatial {
                        let x = X.value(xn + i * C + c), v = x - mu
                        s += centre == nil ? x : v * v
                    }
                    out[c] = s
                }
            }
        }
    }

    /// Σₙ partials[n, c] in Double, in sample order (the same on any thread count).
    private static func sumOverSamples(_ partials: UnsafePointer<Float>, batch: Int, channels C: Int,
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
        Parallel.chunks(rows) { _, range in
            let zero = Float16x()
            for b in 0..<blocks {
                let c0 = b * 16
                let mu = load(shift + c0), sc = load(scale + c0), be = load(beta + c0)
                @inline(__always) func rows(_ add: (Int) -> Float16x) {  // one branch-free body per case
                    for r in range {
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
                for r in range {
                    let o = r * C + c
                    var v = (X.value(x + o) - shift[c]) * scale[c] + beta[c] + (residual?[o] ?? -0.0)
                    if relu { v = Swift.max(v, 0) }
                    Y.store(v, y + o)
                    if let copy { BFloat16.store(v, copy + o) }
                }
            }
        }
    }

    /// Training backward on channels-last tensors; as `backwardTraining`. x is Float or bf16, and so is dx.
    static func channelsLastBackwardTraining<X: NormInput, DX: NormOutput>(
        dx: UnsafeMutablePointer<DX>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<X>, gamma: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
        batch: Int, channels C: Int, spatial: Int, reluOutput: UnsafePointer<Float>? = nil,
        reluBeta: UnsafePointer<Float>? = nil, reduce: Reduce? = nil
    ) {
        if reluOutput != nil, let reluBeta {
            return channelsLastBackwardTraining(dx: dx, dGamma: dGamma, dBeta: dBeta, dy: dy, x: x, gamma: gamma,
                                                mean: mean, invStd: invStd, batch: batch, channels: C,
                                                spatial: spatial, mask: .recomputed(beta: reluBeta), reduce: reduce)
        }
        channelsLastBackwardTraining(dx: dx, dGamma: dGamma, dBeta: dBeta, dy: dy, x: x, gamma: gamma, mean: mean,
                                     invStd: invStd, batch: batch, channels: C, spatial: spatial,
                                     mask: reluOutput.map { .output($0) } ?? .none, reduce: reduce)
    }

    private static func channelsLastBackwardTraining<X: NormInput, DX: NormOutput>(
        dx: UnsafeMutablePointer<DX>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<X>, gamma: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
        batch: Int, channels C: Int, spatial: Int, mask: ReLUMask, reduce: Reduce?
    ) {
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: 2 * batch * C)
        let local = UnsafeMutablePointer<Double>.allocate(capacity: 2 * C)
        let global = UnsafeMutablePointer<Double>.allocate(capacity: 2 * C + 1)
        let coefficients = UnsafeMutablePointer<Float>.allocate(capacity: 3 * C)
        defer { partials.deallocate(); local.deallocate(); global.deallocate(); coefficients.deallocate() }
        let blocks = C / 16
        // (Σg, Σg·(x − μ)) per sample and channel, g = dy masked by the fused ReLU.
        Parallel.chunks(batch) { _, range in
            for n in range {
                let base = n * spatial * C
                let sa = partials + n * C, sb = partials + (batch + n) * C
                for blk in 0..<blocks {
                    let c0 = blk * 16, mu = load(mean + c0), relu = ReLULanes(mask, c0, gamma, invStd)
                    var a = Float16x(), b = Float16x()
                    for i in 0..<spatial {
                        let off = base + i * C + c0
                        let d = X.load16(x + off) - mu
                        let g = relu.masked(load(dy + off), d, off)
                        a += g
                        b += g * d
                    }
                    store(a, sa + c0); store(b, sb + c0)
                }
                for c in (blocks * 16)..<C {
                    var a: Float = 0, b: Float = 0
                    for i in 0..<spatial {
                        let off = base + i * C + c
                        let d = X.value(x + off) - mean[c]
                        let g = scalarMask(mask, c, d, off, gamma, invStd) ? dy[off] : 0
                        a += g; b += g * d
                    }
                    sa[c] = a; sb[c] = b
                }
            }
        }
        sumOverSamples(partials, batch: batch, channels: C, into: local)
        sumOverSamples(partials + batch * C, batch: batch, channels: C, into: local + C)
        global.update(from: local, count: 2 * C)
        global[2 * C] = Double(batch * spatial)
        reduce?(global, 2 * C + 1)
        let m = Float(global[2 * C])
        // dx = a·g + b·(x − μ) + c0 per channel (see backwardTraining).
        let av = coefficients, bv = coefficients + C, cv = coefficients + 2 * C
        for c in 0..<C {
            let inv = invStd[c]
            dGamma[c] += Float(local[C + c]) * inv
            dBeta[c] += Float(local[c])
            let sumDy = Float(global[c]), sumDyXhat = Float(global[C + c]) * inv
            let k = gamma[c] * inv / m, coef = sumDyXhat * inv
            av[c] = k * m; bv[c] = -k * coef; cv[c] = -k * sumDy
        }
        Parallel.chunks(batch * spatial) { _, range in
            for blk in 0..<blocks {
                let c0 = blk * 16, relu = ReLULanes(mask, c0, gamma, invStd)
                let a = load(av + c0), b = load(bv + c0), k = load(cv + c0), mu = load(mean + c0)
                for row in range {
                    let off = row * C + c0
                    let d = X.load16(x + off) - mu
                    DX.store16(a * relu.masked(load(dy + off), d, off) + b * d + k, dx + off)
                }
            }
            for c in (blocks * 16)..<C {
                for row in range {
                    let off = row * C + c
                    let d = X.value(x + off) - mean[c]
                    let g = scalarMask(mask, c, d, off, gamma, invStd) ? dy[off] : 0
                    DX.store(av[c] * g + bv[c] * d + cv[c], dx + off)
                }
            }
        }
    }

    /// The ReLU mask of one 16-channel block: g = dy where the forward's output was positive, else 0.
    struct ReLULanes {
        let mask: ReLUMask
        let scale: Float16x, beta: Float16x

        @inline(__always)
        init(_ mask: ReLUMask, _ c0: Int, _ gamma: UnsafePointer<Float>, _ invStd: UnsafePointer<Float>) {
            self.mask = mask
            if case .recomputed(let b) = mask {
                scale = load(gamma + c0) * load(invStd + c0); beta = load(b + c0)
            } else {
                scale = Float16x(); beta = Float16x()
            }
        }

        /// dy masked; `centred` is x − μ at `offset`.
        @inline(__always)
        func masked(_ dy: Float16x, _ centred: Float16x, _ offset: Int) -> Float16x {
            switch mask {
            case .none: return dy
            case .output(let y): return dy.replacing(with: Float16x(), where: load(y + offset) .<= Float16x())
            case .recomputed: return dy.replacing(with: Float16x(), where: centred * scale + beta .<= Float16x())
            }
        }
    }

    /// The scalar mask of channel c (true: the gradient passes).
    @inline(__always)
    static func scalarMask(_ mask: ReLUMask, _ c: Int, _ centred: Float, _ offset: Int,
                           _ gamma: UnsafePointer<Float>, _ invStd: UnsafePointer<Float>) -> Bool {
        switch mask {
        case .none: return true
        case .output(let y): return y[offset] > 0
        case .recomputed(let b): return centred * (gamma[c] * invStd[c]) + b[c] > 0
        }
    }

    /// Backward through the evaluation transform on channels-last tensors. x is Float or bf16.
    static func channelsLastBackwardInference<X: NormInput>(
        dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<X>, gamma: UnsafePointer<Float>,
        runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels C: Int, spatial: Int, eps: Float, reluOutput: UnsafePointer<Float>? = nil
    ) {
        var sdy = [Double](repeating: 0, count: C), sdyx = [Double](repeating: 0, count: C)
        let inv = (0..<C).map { 1 / (runningVar[$0] + eps).squareRoot() }
        for row in 0..<(batch * spatial) {
            let off = row * C
            for c in 0..<C {
                let g = reluOutput.map { $0[off + c] > 0 ? dy[off + c] : 0 } ?? dy[off + c]
                sdy[c] += Double(g); sdyx[c] += Double(g * (X.value(x + off + c) - runningMean[c]) * inv[c])
                dx[off + c] = g * gamma[c] * inv[c]
            }
        }
        for c in 0..<C { dGamma[c] += Float(sdyx[c]); dBeta[c] += Float(sdy[c]) }
    }
}
