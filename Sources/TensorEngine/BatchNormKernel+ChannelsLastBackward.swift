/// Batch norm backward over channels-last tensors (BatchNormKernel+ChannelsLast.swift has the layout, the forward and
/// the tiles both walk in).
extension BatchNormKernel {
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
        gradientSums(partials, dy: dy, x: x, gamma: gamma, mean: mean, invStd: invStd, batch: batch, channels: C,
                     spatial: spatial, mask: mask)
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
        inputGradient(dx, dy: dy, x: x, gamma: gamma, mean: mean, invStd: invStd, coefficients: coefficients,
                      rows: batch * spatial, channels: C, mask: mask)
    }

    /// partials[n, c] = Σᵢ g and partials[batch + n, c] = Σᵢ g·(x − μ) over sample n's rows, g = dy masked by the
    /// fused ReLU; Float sums in row order.
    private static func gradientSums<X: NormInput>(
        _ partials: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<X>,
        gamma: UnsafePointer<Float>, mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
        batch: Int, channels C: Int, spatial: Int, mask: ReLUMask
    ) {
        let blocks = C / 16
        Parallel.pieces(batch) { _, range in
            for n in range {
                let base = n * spatial * C
                let sa = partials + n * C, sb = partials + (batch + n) * C
                tiles(0..<spatial, channels: C) { tile in
                    let first = tile.lowerBound == 0
                    for blk in 0..<blocks {
                        let c0 = blk * 16, mu = load(mean + c0), relu = ReLULanes(mask, c0, gamma, invStd)
                        var a = first ? Float16x() : load(sa + c0), b = first ? Float16x() : load(sb + c0)
                        for i in tile {
                            let off = base + i * C + c0
                            let d = X.load16(x + off) - mu
                            let g = relu.masked(load(dy + off), d, off)
                            a += g
                            b += g * d
                        }
                        store(a, sa + c0); store(b, sb + c0)
                    }
                    for c in (blocks * 16)..<C {
                        var a: Float = first ? 0 : sa[c], b: Float = first ? 0 : sb[c]
                        for i in tile {
                            let off = base + i * C + c
                            let d = X.value(x + off) - mean[c]
                            let g = scalarMask(mask, c, d, off, gamma, invStd) ? dy[off] : 0
                            a += g; b += g * d
                        }
                        sa[c] = a; sb[c] = b
                    }
                }
            }
        }
    }

    /// dx = a·g + b·(x − μ) + c per channel, (a, b, c) the three rows of `coefficients`.
    private static func inputGradient<X: NormInput, DX: NormOutput>(
        _ dx: UnsafeMutablePointer<DX>, dy: UnsafePointer<Float>, x: UnsafePointer<X>, gamma: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>, coefficients: UnsafePointer<Float>, rows: Int,
        channels C: Int, mask: ReLUMask
    ) {
        let blocks = C / 16, av = coefficients, bv = coefficients + C, cv = coefficients + 2 * C
        Parallel.pieces(rows) { _, range in
            tiles(range, channels: C) { tile in
                for blk in 0..<blocks {
                    let c0 = blk * 16, relu = ReLULanes(mask, c0, gamma, invStd)
                    let a = load(av + c0), b = load(bv + c0), k = load(cv + c0), mu = load(mean + c0)
                    for row in tile {
                        let off = row * C + c0
                        let d = X.load16(x + off) - mu
                        DX.store16(a * relu.masked(load(dy + off), d, off) + b * d + k, dx + off)
                    }
                }
                for c in (blocks * 16)..<C {
                    for row in tile {
                        let off = row * C + c
                        let d = X.value(x + off) - mean[c]
                        let g = scalarMask(mask, c, d, off, gamma, invStd) ? dy[off] : 0
                        DX.store(av[c] * g + bv[c] * d + cv[c], dx + off)
                    }
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
