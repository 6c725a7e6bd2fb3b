import Foundation

/// Batch normalisation over NCHW (statistics per channel over N·H·W), with PyTorch's semantics: training normalises
/// with the biased batch variance and updates the running variance with the unbiased one; evaluation uses the
/// running statistics.
///
/// `channelsLast: true` runs the same computation on [N, HW, C] tensors (BatchNormKernel+ChannelsLast.swift).
///
/// A following ReLU can be fused (`relu: true` forward, `reluOutput:` backward): the output is clamped in the same
/// pass, and backward masks dy by `reluOutput > 0` on the fly — saving a full read-write pass each way. The
/// channels-last forwards can also add a residual before that ReLU (`residual:`, a residual block's sum).
public enum BatchNormKernel {
    /// Sums over all ranks (synchronised batch norm): called with a buffer of `count` doubles to be replaced by
    /// their sum across the job, identically on every rank.
    public typealias Reduce = (UnsafeMutablePointer<Double>, Int) -> Void

    /// Training forward. Writes y, and the per-channel `mean` and `invStd` that backward needs; updates running stats
    /// with `momentum` (PyTorch's convention: new = (1 − momentum)·old + momentum·batch).
    /// Shapes: x, y [N, C, HW]; gamma, beta, mean, invStd, runningMean, runningVar [C].
    ///
    /// Two passes per channel — the mean, then the centred sum of squares (Float partials per plane, Double across
    /// planes) — so the variance has no cancellation whatever the mean, and the statistics do not depend on how the
    /// batch is split. With `reduce` (synchronised batch norm, as PyTorch's SyncBatchNorm) both sums and the element
    /// count are summed over the job's ranks: the statistics are those of the global batch, rounded to the same
    /// Float32 values as a single process computing them.
    public static func forwardTraining(
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>,
        x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        runningMean: UnsafeMutablePointer<Float>, runningVar: UnsafeMutablePointer<Float>,
        batch: Int, channels: Int, spatial: Int, momentum: Float, eps: Float, relu: Bool = false,
        reduce: Reduce? = nil, channelsLast: Bool = false, residual: UnsafePointer<Float>? = nil
    ) {
        if channelsLast {
            return channelsLastForwardTraining(
                y: y, mean: mean, invStd: invStd, x: x, gamma: gamma, beta: beta, runningMean: runningMean,
                runningVar: runningVar, batch: batch, channels: channels, spatial: spatial, momentum: momentum, eps: eps,
                relu: relu, reduce: reduce, residual: residual)
        }
        precondition(residual == nil, "BatchNormKernel: a residual needs the channels-last kernels")
        func sum(_ c: Int) -> Double {
            var s = 0.0
            for n in 0..<batch { s += Double(vsum(x + (n * channels + c) * spatial, spatial)) }
            return s
        }
        func centredSquares(_ c: Int, _ mu: Float) -> Double {
            var s = 0.0
            for n in 0..<batch { s += Double(vsumSquaredDeviation(x + (n * channels + c) * spatial, spatial, mu)) }
            return s
        }
        func finish(_ c: Int, _ muF: Float, _ ss: Double, _ m: Double) {
            let variance = ss / m
            let inv = Float(1 / (variance + Double(eps)).squareRoot())
            mean[c] = muF
            invStd[c] = inv
            let unbiased = m > 1 ? variance * m / (m - 1) : variance
            runningMean[c] = (1 - momentum) * runningMean[c] + momentum * muF
            runningVar[c] = (1 - momentum) * runningVar[c] + momentum * Float(unbiased)
            let scale = gamma[c] * inv
            for n in 0..<batch {
                let off = (n * channels + c) * spatial
                vnormalize(y + off, x + off, spatial, muF, scale, beta[c], relu: relu)
            }
        }
        let m = Double(batch * spatial)
        guard let reduce else {
            Parallel.pieces(channels) { _, range in
                for c in range {
                    let muF = Float(sum(c) / m)
                    finish(c, muF, centredSquares(c, muF), m)
                }
            }
            return
        }
        // [Σx per channel…, count], then [Σ(x − μ)² per channel…].
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: channels + 1)
        defer { sums.deallocate() }
        Parallel.pieces(channels) { _, range in for c in range { sums[c] = sum(c) } }
        sums[channels] = m
        reduce(sums, channels + 1)
        let total = sums[channels]
        let means = (0..<channels).map { Float(sums[$0] / total) }
        Parallel.pieces(channels) { _, range in for c in range { sums[c] = centredSquares(c, means[c]) } }
        reduce(sums, channels)
        Parallel.pieces(channels) { _, range in for c in range { finish(c, means[c], sums[c], total) } }
    }

    /// Evaluation-mode batch norm as one affine map per channel, y = x·s + t with s = γ/√(var + ε) and
    /// t = β − mean·s, in these float32 operations: the form a folded export (`bwma export --fold-bn`, docs/export.md)
    /// and its PyTorch loader compute, so that the three agree bit for bit.
    @inline(__always)
    public static func inferenceAffine(_ gamma: Float, _ beta: Float, _ mean: Float, _ variance: Float, _ eps: Float)
        -> (scale: Float, shift: Float) {
        let s = gamma / (variance + eps).squareRoot()
        return (s, beta - mean * s)
    }

    /// Evaluation forward: y = x·s + t per channel (`inferenceAffine`), then ReLU when fused.
    public static func forwardInference(
        y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        beta: UnsafePointer<Float>, runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, eps: Float, relu: Bool = false, channelsLast: Bool = false,
        residual: UnsafePointer<Float>? = nil
    ) {
        if channelsLast {
            return channelsLastForwardInference(
                y: y, x: x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar, batch: batch,
                channels: channels, spatial: spatial, eps: eps, relu: relu, residual: residual)
        }
        precondition(residual == nil, "BatchNormKernel: a residual needs the channels-last kernels")
        Parallel.pieces(batch) { _, range in
            for n in range {
                for c in 0..<channels {
                    let (scale, shift) = inferenceAffine(gamma[c], beta[c], runningMean[c], runningVar[c], eps)
                    let off = (n * channels + c) * spatial
                    vnormalize(y + off, x + off, spatial, 0, scale, shift, relu: relu)
                }
            }
        }
    }

    /// Training backward: accumulates dgamma, dbeta; writes dx. `mean`/`invStd` are those saved by the forward.
    /// dx = γ·σ⁻¹/M · (M·g − Σg − x̂·Σ(g·x̂)) with g = dy, or g = dy·[reluOutput > 0] when a ReLU was fused.
    /// With `reluBeta` (the forward's β) as well, channels-last tensors recompute that mask from x instead of
    /// reading the output (`ReLUMask`; the same bits).
    /// With `reduce` (synchronised batch norm) Σg, Σ(g·(x − μ)) and M are summed over the job's ranks; dγ and dβ
    /// stay local (the gradient allreduce averages them like every other parameter).
    public static func backwardTraining(
        dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, reluOutput: UnsafePointer<Float>? = nil,
        reluBeta: UnsafePointer<Float>? = nil, reduce: Reduce? = nil, channelsLast: Bool = false
    ) {
        if channelsLast {
            return channelsLastBackwardTraining(
                dx: dx, dGamma: dGamma, dBeta: dBeta, dy: dy, x: x, gamma: gamma, mean: mean, invStd: invStd,
                batch: batch, channels: channels, spatial: spatial, reluOutput: reluOutput, reluBeta: reluBeta,
                reduce: reduce)
        }
        let zero = Float16x()
        /// (Σg, Σg·(x − μ)) of channel c.
        func sums(_ c: Int) -> (Double, Double) {
            let mu = mean[c], muv = Float16x(repeating: mu)
            var sdy = 0.0, sdyx = 0.0
            for n in 0..<batch {
                let off = (n * channels + c) * spatial
                let xc = x + off, dyc = dy + off
                var a = Float16x(), b = Float16x(), i = 0
                if let r = reluOutput.map({ $0 + off }) {
                    while i + 16 <= spatial {
                        let g = load(dyc + i).replacing(with: zero, where: load(r + i) .<= zero)
                        a += g
                        b += g * (load(xc + i) - muv)
                        i += 16
                    }
                } else {
                    while i + 16 <= spatial {
                        let g = load(dyc + i)
                        a += g
                        b += g * (load(xc + i) - muv)
                        i += 16
                    }
                }
                var sa = a.sum(), sb = b.sum()
                while i < spatial {
                    let g = reluOutput.map { $0[off + i] > 0 ? dyc[i] : 0 } ?? dyc[i]
                    sa += g; sb += g * (xc[i] - mu); i += 1
                }
                sdy += Double(sa); sdyx += Double(sb)
            }
            return (sdy, sdyx)
        }
        /// dγ, dβ from the local sums; dx from the (possibly job-wide) ones over `m` elements.
        func apply(_ c: Int, local: (Double, Double), global: (Double, Double), _ m: Float) {
            let mu = mean[c], inv = invStd[c], muv = Float16x(repeating: mu)
            dGamma[c] += Float(local.1) * inv
            dBeta[c] += Float(local.0)
            let sumDy = Float(global.0), sumDyXhat = Float(global.1) * inv
            // dx = k·(M·g − Σg − (x − μ)·coef), coef·(x − μ) = x̂·Σ(g·x̂); as a·g + b·(x − μ) + c0. Keeping
            // (x − μ) explicit avoids the cancellation of b·x against b·μ when |μ| ≫ σ.
            let k = gamma[c] * inv / m, coef = sumDyXhat * inv
            let a = k * m, b = -k * coef, c0 = -k * sumDy
            let av = Float16x(repeating: a), bv = Float16x(repeating: b), cv = Float16x(repeating: c0)
            for n in 0..<batch {
                let off = (n * channels + c) * spatial
                let xc = x + off, dyc = dy + off, dxc = dx + off
                var i = 0
                if let r = reluOutput.map({ $0 + off }) {
                    while i + 16 <= spatial {
                        let g = load(dyc + i).replacing(with: zero, where: load(r + i) .<= zero)
                        store(av * g + bv * (load(xc + i) - muv) + cv, dxc + i)
                        i += 16
                    }
                } else {
                    while i + 16 <= spatial {
                        store(av * load(dyc + i) + bv * (load(xc + i) - muv) + cv, dxc + i)
                        i += 16
                    }
                }
                while i < spatial {
                    let g = reluOutput.map { $0[off + i] > 0 ? dyc[i] : 0 } ?? dyc[i]
                    dxc[i] = a * g + b * (xc[i] - mu) + c0
                    i += 1
                }
            }
        }
        let m = Float(batch * spatial)
        guard let reduce else {
            Parallel.pieces(channels) { _, range in
                for c in range { let s = sums(c); apply(c, local: s, global: s, m) }
            }
            return
        }
        let local = UnsafeMutablePointer<Double>.allocate(capacity: 2 * channels)
        let global = UnsafeMutablePointer<Double>.allocate(capacity: 2 * channels + 1)
        defer { local.deallocate(); global.deallocate() }
        Parallel.pieces(channels) { _, range in
            for c in range { (local[2 * c], local[2 * c + 1]) = sums(c) }
        }
        global.update(from: local, count: 2 * channels)
        global[2 * channels] = Double(m)
        reduce(global, 2 * channels + 1)
        let total = Float(global[2 * channels])
        Parallel.pieces(channels) { _, range in
            for c in range {
                apply(c, local: (local[2 * c], local[2 * c + 1]), global: (global[2 * c], global[2 * c + 1]), total)
            }
        }
    }

    /// Backward through the evaluation transform (running statistics are constants).
    public static func backwardInference(
        dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, eps: Float, reluOutput: UnsafePointer<Float>? = nil,
        channelsLast: Bool = false
    ) {
        if channelsLast {
            return channelsLastBackwardInference(
                dx: dx, dGamma: dGamma, dBeta: dBeta, dy: dy, x: x, gamma: gamma, runningMean: runningMean,
                runningVar: runningVar, batch: batch, channels: channels, spatial: spatial, eps: eps,
                reluOutput: reluOutput)
        }
        for c in 0..<channels {
            let inv = 1 / (runningVar[c] + eps).squareRoot(), mu = runningMean[c]
            var sdy = 0.0, sdyx = 0.0
            for n in 0..<batch {
                let off = (n * channels + c) * spatial
                for i in 0..<spatial {
                    let g = reluOutput.map { $0[off + i] > 0 ? dy[off + i] : 0 } ?? dy[off + i]
                    sdy += Double(g); sdyx += Double(g * (x[off + i] - mu) * inv)
                    dx[off + i] = g * gamma[c] * inv
                }
            }
            dGamma[c] += Float(sdyx); dBeta[c] += Float(sdy)
        }
    }

    /// Where the fused ReLU's gradient mask comes from: none (no ReLU), the forward's output (y ≤ 0: zero
    /// gradient), or recomputed from x with the forward's arithmetic, (x − μ)·(γ·σ⁻¹) + β ≤ 0 — the same bits, one
    /// tensor fewer to read in both passes (batch norm backward is memory-bound).
    enum ReLUMask {
        case none
        case output(UnsafePointer<Float>)
        case recomputed(beta: UnsafePointer<Float>)
    }
}
