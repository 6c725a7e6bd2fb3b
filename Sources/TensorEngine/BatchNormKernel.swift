import Foundation

/// Batch normalisation over NCHW (statistics per channel over N·H·W), with PyTorch's semantics: training normalises
/// with the biased batch variance and updates the running variance with the unbiased one; evaluation uses the
/// running statistics.
///
/// A following ReLU can be fused (`relu: true` forward, `reluOutput:` backward): the output is clamped in the same
/// pass, and backward masks dy by `reluOutput > 0` on the fly — saving a full read-write pass each way.
public enum BatchNormKernel {
    /// Training forward. Writes y, and the per-channel `mean` and `invStd` that backward needs; updates running stats
    /// with `momentum` (PyTorch's convention: new = (1 − momentum)·old + momentum·batch).
    /// Shapes: x, y [N, C, HW]; gamma, beta, mean, invStd, runningMean, runningVar [C].
    public static func forwardTraining(
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>,
        x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        runningMean: UnsafeMutablePointer<Float>, runningVar: UnsafeMutablePointer<Float>,
        batch: Int, channels: Int, spatial: Int, momentum: Float, eps: Float, relu: Bool = false
    ) {
        let m = batch * spatial
        Parallel.chunks(channels) { _, range in
            for c in range {
                // One pass: moments about a sample k of the channel (per-plane Float partials, Double across planes).
                let k = x[c * spatial]
                var s = 0.0, s2 = 0.0
                for n in 0..<batch {
                    let (a, b) = vshiftedMoments(x + (n * channels + c) * spatial, spatial, k)
                    s += Double(a); s2 += Double(b)
                }
                let shiftedMean = s / Double(m)
                let variance = Swift.max(s2 / Double(m) - shiftedMean * shiftedMean, 0)
                let mu = Double(k) + shiftedMean
                let muF = Float(mu)
                let inv = Float(1 / (variance + Double(eps)).squareRoot())
                mean[c] = muF
                invStd[c] = inv
                let unbiased = m > 1 ? variance * Double(m) / Double(m - 1) : variance
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * muF
                runningVar[c] = (1 - momentum) * runningVar[c] + momentum * Float(unbiased)
                let scale = gamma[c] * inv
                for n in 0..<batch {
                    let off = (n * channels + c) * spatial
                    vnormalize(y + off, x + off, spatial, muF, scale, beta[c], relu: relu)
                }
            }
        }
    }

    /// Evaluation forward with running statistics.
    public static func forwardInference(
        y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        beta: UnsafePointer<Float>, runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, eps: Float, relu: Bool = false
    ) {
        Parallel.chunks(batch) { _, range in
            for n in range {
                for c in 0..<channels {
                    let scale = gamma[c] / (runningVar[c] + eps).squareRoot()
                    let off = (n * channels + c) * spatial
                    vnormalize(y + off, x + off, spatial, runningMean[c], scale, beta[c], relu: relu)
                }
            }
        }
    }

    /// Training backward: accumulates dgamma, dbeta; writes dx. `mean`/`invStd` are those saved by the forward.
    /// dx = γ·σ⁻¹/M · (M·g − Σg − x̂·Σ(g·x̂)) with g = dy, or g = dy·[reluOutput > 0] when a ReLU was fused.
    public static func backwardTraining(
        dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, reluOutput: UnsafePointer<Float>? = nil
    ) {
        let m = Float(batch * spatial)
        Parallel.chunks(channels) { _, range in
            let zero = Float16x()
            for c in range {
                let mu = mean[c], inv = invStd[c]
                let muv = Float16x(repeating: mu)
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
                let sumDy = Float(sdy), sumDyXhat = Float(sdyx) * inv
                dGamma[c] += sumDyXhat
                dBeta[c] += sumDy
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
        }
    }

    /// Backward through the evaluation transform (running statistics are constants).
    public static func backwardInference(
        dx: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>,
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
        runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
        batch: Int, channels: Int, spatial: Int, eps: Float, reluOutput: UnsafePointer<Float>? = nil
    ) {
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
}
