import Foundation

/// Batch normalisation over NCHW (statistics per channel over N·H·W), with PyTorch's semantics: training normalises
/// with the biased batch variance and updates the running variance with the unbiased one; evaluation uses the
/// running statistics.
public enum BatchNormKernel {
    /// Training forward. Writes y, and the per-channel `mean` and `invStd` that backward needs; updates running stats
    /// with `momentum` (PyTorch's convention: new = (1 − momentum)·old + momentum·batch).
    /// Shapes: x, y [N, C, HW]; gamma, beta, mean, invStd, runningMean, runningVar [C].
    public static func forwardTraining(
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>,
        x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        runningMean: UnsafeMutablePointer<Float>, runningVar: UnsafeMutablePointer<Float>,
        batch: Int, channels: Int, spatial: Int, momentum: Float, eps: Float
    ) {
        let m = batch * spatial
        Parallel.chunks(channels) { _, range in
            for c in range {
                // Two passes in Double: mean, then centred sum of squares (no cancellation).
                var s = 0.0
                for n in 0..<batch {
                    let xc = x + (n * channels + c) * spatial
                    s += Double(vsum(xc, spatial))
                }
                let mu = s / Double(m)
                let muF = Float(mu)
                var ss = 0.0
                for n in 0..<batch {
                    let xc = x + (n * channels + c) * spatial
                    ss += Double(vsumSquaredDeviation(xc, spatial, muF))
                }
                let variance = ss / Double(m)
                let inv = Float(1 / (variance + Double(eps)).squareRoot())
                mean[c] = muF
                invStd[c] = inv
                let unbiased = m > 1 ? variance * Double(m) / Double(m - 1) : variance
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * muF
                runningVar[c] = (1 - momentum) * runningVar[c] + momentum * Float(unbiased)
                let scale = gamma[c] * inv, shift = beta[c] - muF * scale
                for n in 0..<batch {
                    let off = (n * channels + c) * spatial
                    vaffine(y + off, x + off, spatial, scale, shift)
                }
            }
        }
    }

    /// Evaluation forward with running statistics.
    public static func forwardInference(
        y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        beta: UnsafePointer<Float>, runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, eps: Float
    ) {
        Parallel.chunks(batch) { _, range in
            for n in range {
                for c in 0..<channels {
                    let scale = gamma[c] / (runningVar[c] + eps).squareRoot()
                    let shift = beta[c] - runningMean[c] * scale
                    let off = (n * channels + c) * spatial
                    vaffine(y + off, x + off, spatial, scale, shift)
                }
            }
        }
    }

    /// Training backward: accumulates dgamma, dbeta; writes dx. `mean`/`invStd` are those saved by the forward.
    /// dx = γ·σ⁻¹/M · (M·dy − Σdy − x̂·Σ(dy·x̂)).
    public static func backwardTraining(
        dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int
    ) {
        let m = Float(batch * spatial)
        Parallel.chunks(channels) { _, range in
            for c in range {
                let mu = mean[c], inv = invStd[c]
                var sdy = 0.0, sdyx = 0.0
                for n in 0..<batch {
                    let off = (n * channels + c) * spatial
                    let xc = x + off, dyc = dy + off
                    var a = Float16x(), b = Float16x(), i = 0
                    let muv = Float16x(repeating: mu)
                    while i + 16 <= spatial {
                        let g = load(dyc + i)
                        a += g
                        b += g * (load(xc + i) - muv)
                        i += 16
                    }
                    var sa = a.sum(), sb = b.sum()
                    while i < spatial { sa += dyc[i]; sb += dyc[i] * (xc[i] - mu); i += 1 }
                    sdy += Double(sa); sdyx += Double(sb)
                }
                let sumDy = Float(sdy), sumDyXhat = Float(sdyx) * inv
                dGamma[c] += sumDyXhat
                dBeta[c] += sumDy
                let k = gamma[c] * inv / m
                let meanDy = sumDy, coef = sumDyXhat * inv
                for n in 0..<batch {
                    let off = (n * channels + c) * spatial
                    let xc = x + off, dyc = dy + off, dxc = dx + off
                    // dx = k·(M·dy − Σdy − (x − μ)·coef), with coef·(x − μ) = x̂·Σ(dy·x̂). As a·dy + b·x + c:
                    let a = k * m, b = -k * coef, c0 = -k * meanDy + k * mu * coef
                    let av = Float16x(repeating: a), bv = Float16x(repeating: b), cv = Float16x(repeating: c0)
                    var i = 0
                    while i + 16 <= spatial { store(av * load(dyc + i) + bv * load(xc + i) + cv, dxc + i); i += 16 }
                    while i < spatial { dxc[i] = a * dyc[i] + b * xc[i] + c0; i += 1 }
                }
            }
        }
    }

    /// Backward through the evaluation transform (running statistics are constants).
    public static func backwardInference(
        dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, eps: Float
    ) {
        for c in 0..<channels {
            let inv = 1 / (runningVar[c] + eps).squareRoot(), mu = runningMean[c]
            var sdy = 0.0, sdyx = 0.0
            for n in 0..<batch {
                let off = (n * channels + c) * spatial
                for i in 0..<spatial {
                    let g = dy[off + i]
                    sdy += Double(g); sdyx += Double(g * (x[off + i] - mu) * inv)
                    dx[off + i] = g * gamma[c] * inv
                }
            }
            dGamma[c] += Float(sdyx); dBeta[c] += Float(sdy)
        }
    }
}
