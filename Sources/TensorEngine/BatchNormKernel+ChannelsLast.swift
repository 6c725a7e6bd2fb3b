/// Batch normalisation over channels-last tensors ([N, HW, C]: what oneDNN convolutions write), with the semantics of
/// the NCHW kernels: two-pass statistics with Float partials per (sample, channel) and Double across samples — so
/// the statistics do not depend on how the batch is split over threads or ranks —, the same `reduce` protocol for
/// synchronised batch norm, and a fusable ReLU. Rows of C contiguous values vectorise over channels.
extension BatchNormKernel {
    /// Σ over each sample's positions of f(row) per channel: partials [N, C] in Float, one row at a time.
    private static func samplePartials(_ out: UnsafeMutablePointer<Float>, batch: Int, channels C: Int, spatial: Int,
                                       _ accumulate: (_ n: Int, _ i: Int, _ acc: UnsafeMutablePointer<Float>) -> Void) {
        Parallel.chunks(batch) { _, range in
            for n in range {
                let acc = out + n * C
                acc.update(repeating: 0, count: C)
                for i in 0..<spatial { accumulate(n, i, acc) }
            }
        }
    }

    /// Σₙ partials[n, c] in Double, in sample order (the same on any thread count).
    private static func sumOverSamples(_ partials: UnsafePointer<Float>, batch: Int, channels C: Int,
                                       into sums: UnsafeMutablePointer<Double>) {
        sums.update(repeating: 0, count: C)
        for n in 0..<batch { for c in 0..<C { sums[c] += Double(partials[n * C + c]) } }
    }

    /// Training forward on channels-last x, y [N, HW, C]; as `forwardTraining`.
    public static func forwardTrainingChannelsLast(
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>,
        x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        runningMean: UnsafeMutablePointer<Float>, runningVar: UnsafeMutablePointer<Float>,
        batch: Int, channels C: Int, spatial: Int, momentum: Float, eps: Float, relu: Bool = false,
        reduce: Reduce? = nil
    ) {
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: batch * C)
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: C + 1)
        let mu = UnsafeMutablePointer<Float>.allocate(capacity: C)
        defer { partials.deallocate(); sums.deallocate(); mu.deallocate() }
        samplePartials(partials, batch: batch, channels: C, spatial: spatial) { n, i, acc in
            let row = x + (n * spatial + i) * C
            for c in 0..<C { acc[c] += row[c] }
        }
        sumOverSamples(partials, batch: batch, channels: C, into: sums)
        sums[C] = Double(batch * spatial)
        reduce?(sums, C + 1)
        let m = sums[C]
        for c in 0..<C { mu[c] = Float(sums[c] / m) }
        samplePartials(partials, batch: batch, channels: C, spatial: spatial) { n, i, acc in
            let row = x + (n * spatial + i) * C
            for c in 0..<C { let d = row[c] - mu[c]; acc[c] += d * d }
        }
        sumOverSamples(partials, batch: batch, channels: C, into: sums)
        reduce?(sums, C)
        let scale = UnsafeMutablePointer<Float>.allocate(capacity: C)
        defer { scale.deallocate() }
        for c in 0..<C {
            let variance = sums[c] / m
            let inv = Float(1 / (variance + Double(eps)).squareRoot())
            mean[c] = mu[c]
            invStd[c] = inv
            let unbiased = m > 1 ? variance * m / (m - 1) : variance
            runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mu[c]
            runningVar[c] = (1 - momentum) * runningVar[c] + momentum * Float(unbiased)
            scale[c] = gamma[c] * inv
        }
        normalizeRows(y, x, batch * spatial, C, shift: mu, scale: scale, beta: beta, relu: relu)
    }

    /// Evaluation forward on channels-last tensors with running statistics.
    public static func forwardInferenceChannelsLast(
        y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        beta: UnsafePointer<Float>, runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels C: Int, spatial: Int, eps: Float, relu: Bool = false
    ) {
        let scale = UnsafeMutablePointer<Float>.allocate(capacity: C)
        defer { scale.deallocate() }
        for c in 0..<C { scale[c] = gamma[c] / (runningVar[c] + eps).squareRoot() }
        normalizeRows(y, x, batch * spatial, C, shift: runningMean, scale: scale, beta: beta, relu: relu)
    }

    /// y = (x − shift)·scale + beta per channel over `rows` rows of C values (clamped at 0 with `relu`).
    private static func normalizeRows(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ rows: Int,
                                      _ C: Int, shift: UnsafePointer<Float>, scale: UnsafePointer<Float>,
                                      beta: UnsafePointer<Float>, relu: Bool) {
        Parallel.chunks(rows) { _, range in
            for r in range {
                let xr = x + r * C, yr = y + r * C
                if relu {
                    for c in 0..<C { yr[c] = Swift.max((xr[c] - shift[c]) * scale[c] + beta[c], 0) }
                } else {
                    for c in 0..<C { yr[c] = (xr[c] - shift[c]) * scale[c] + beta[c] }
                }
            }
        }
    }

    /// Training backward on channels-last tensors; as `backwardTraining`.
    public static func backwardTrainingChannelsLast(
        dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
        batch: Int, channels C: Int, spatial: Int, reluOutput: UnsafePointer<Float>? = nil, reduce: Reduce? = nil
    ) {
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: 2 * batch * C)
        let local = UnsafeMutablePointer<Double>.allocate(capacity: 2 * C)
        let global = UnsafeMutablePointer<Double>.allocate(capacity: 2 * C + 1)
        defer { partials.deallocate(); local.deallocate(); global.deallocate() }
        // (Σg, Σg·(x − μ)) per sample and channel, g = dy masked by the fused ReLU's output.
        Parallel.chunks(batch) { _, range in
            for n in range {
                let a = partials + n * C, b = partials + (batch + n) * C
                a.update(repeating: 0, count: C); b.update(repeating: 0, count: C)
                for i in 0..<spatial {
                    let off = (n * spatial + i) * C
                    let xr = x + off, dyr = dy + off
                    if let r = reluOutput.map({ $0 + off }) {
                        for c in 0..<C {
                            let g = r[c] > 0 ? dyr[c] : 0
                            a[c] += g; b[c] += g * (xr[c] - mean[c])
                        }
                    } else {
                        for c in 0..<C { let g = dyr[c]; a[c] += g; b[c] += g * (xr[c] - mean[c]) }
                    }
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
        let coefficients = UnsafeMutablePointer<Float>.allocate(capacity: 3 * C)
        defer { coefficients.deallocate() }
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
            for row in range {
                let off = row * C
                let xr = x + off, dyr = dy + off, dxr = dx + off
                if let r = reluOutput.map({ $0 + off }) {
                    for c in 0..<C {
                        let g = r[c] > 0 ? dyr[c] : 0
                        dxr[c] = av[c] * g + bv[c] * (xr[c] - mean[c]) + cv[c]
                    }
                } else {
                    for c in 0..<C { dxr[c] = av[c] * dyr[c] + bv[c] * (xr[c] - mean[c]) + cv[c] }
                }
            }
        }
    }

    /// Backward through the evaluation transform on channels-last tensors.
    public static func backwardInferenceChannelsLast(
        dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels C: Int, spatial: Int, eps: Float, reluOutput: UnsafePointer<Float>? = nil
    ) {
        var sdy = [Double](repeating: 0, count: C), sdyx = [Double](repeating: 0, count: C)
        let inv = (0..<C).map { 1 / (runningVar[$0] + eps).squareRoot() }
        for row in 0..<(batch * spatial) {
            let off = row * C
            for c in 0..<C {
                let g = reluOutput.map { $0[off + c] > 0 ? dy[off + c] : 0 } ?? dy[off + c]
                sdy[c] += Double(g); sdyx[c] += Double(g * (x[off + c] - runningMean[c]) * inv[c])
                dx[off + c] = g * gamma[c] * inv[c]
            }
        }
        for c in 0..<C { dGamma[c] += Float(sdyx[c]); dBeta[c] += Float(sdy[c]) }
    }
}
