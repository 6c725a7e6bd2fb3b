import TensorEngine

/// Maps a layer's FP32 latent weights W to binary weights Wq = α·B + β, B ∈ {−1, +1}, per layer or per output
/// channel, and carries the gradient back to W (docs/method.md §1).
///
/// - `bwn`: B = sign(W), α = mean|W|, β = 0 (BWN / XNOR-Net).
/// - `bwma` (balanced): the exact minimiser of ‖W − (αB + β)‖² over α, β and B subject to B being balanced (half
///   the weights +1, half −1: the maximum-entropy code, one full bit per cell). B = sign(W − median),
///   β = mean(W), α = mean|W − median| (odd n: the better of the two near-balanced splits).
/// - `bwma-opt` (unconstrained): the exact two-level optimum (1-D 2-means), found by sorting and scanning all
///   split points with prefix sums.
///
/// Backward (straight-through, clipped): ∂L/∂Wᵢ = ∂L/∂Wqᵢ · [|Wᵢ − t| ≤ clip·α], t the split threshold; optionally
/// plus the terms through α and β (treating B as constant): β' = 1/n, α' = Bᵢ/n (bwma), sign(Wᵢ)/n (bwn).
public struct WeightBinarizer: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case bwn, bwma
        case bwmaOptimal = "bwma-opt"
    }

    public var kind: Kind
    /// One (α, β) per output channel instead of per layer.
    public var perChannel: Bool
    /// Gradients pass where |W − t| ≤ steClip·α; 0 disables clipping.
    public var steClip: Float
    /// Add the gradient through α and β.
    public var gradientThroughScale: Bool

    public init(kind: Kind, perChannel: Bool = false, steClip: Float = 3, gradientThroughScale: Bool = false) {
        self.kind = kind; self.perChannel = perChannel; self.steClip = steClip
        self.gradientThroughScale = gradientThroughScale
    }

    /// Per-group result of a binarization.
    public struct Group: Sendable, Equatable {
        public var alpha: Float
        public var beta: Float
        /// Weights above the threshold map to +1, below to −1 (bwn: 0; bwma: the split point).
        public var threshold: Float
        /// Two-level kinds: how many weights take −1 (fixes the split among values equal to the threshold);
        /// nil for bwn, where sign(0) = +1.
        public var lowerCount: Int?

        /// The two weight values, β + α (B = +1) and β − α (B = −1).
        var levels: (Float, Float) { (beta + alpha, beta - alpha) }
    }

    // MARK: - Closed forms on one group

    /// Binarizes `w` (n values) into `wq` (and B ∈ {−1, +1} into `signs` when given), returns α, β and the
    /// threshold. `scratch` holds ≥ n floats.
    public func binarize(_ w: UnsafePointer<Float>, _ n: Int, into wq: UnsafeMutablePointer<Float>,
                         signs: UnsafeMutablePointer<Int8>? = nil, scratch: UnsafeMutablePointer<Float>) -> Group {
        precondition(n > 0, "empty weight group")
        let g: Group
        switch kind {
        case .bwn:
            var s = 0.0
            for i in 0..<n { s += Double(abs(w[i])) }
            g = Group(alpha: Float(s / Double(n)), beta: 0, threshold: 0, lowerCount: nil)
        case .bwma, .bwmaOptimal:
            g = Self.twoLevel(w, n, balanced: kind == .bwma, sorted: scratch)
        }
        // Ties at the threshold: the sorted order decides in the closed forms; assigning w ≥ t to +1 reproduces it
        // except among values equal to t, where any assignment with the same counts has the same error.
        Self.fill(w, n, g, into: wq, signs: signs)
        return g
    }

    /// The optimal levels a < b for a split of the sorted values into a lower part of size l and an upper part.
    static func twoLevel(_ w: UnsafePointer<Float>, _ n: Int, balanced: Bool, sorted: UnsafeMutablePointer<Float>)
        -> Group {
        if balanced && n > 1 { return balancedSplit(w, n, scratch: sorted) }
        sorted.update(from: w, count: n)
        var view = UnsafeMutableBufferPointer(start: sorted, count: n)
        view.sort()
        if n == 1 { return Group(alpha: 0, beta: sorted[0], threshold: sorted[0], lowerCount: 0) }
        // Prefix sums in Double: S(l) = Σ_{i<l} s_i; SSE(l) = Σ s² − S(l)²/l − (T − S(l))²/(n − l).
        var total = 0.0
        for i in 0..<n { total += Double(sorted[i]) }
        func levels(_ l: Int, _ prefix: Double) -> (Double, Double) {
            (prefix / Double(l), (total - prefix) / Double(n - l))
        }
        var bestL = 0, bestScore = -Double.infinity, prefix = 0.0, bestPrefix = 0.0
        // Maximising S(l)²/l + (T − S(l))²/(n − l) minimises the SSE (Σ s² is constant).
        let candidates: [Int] = balanced ? (n % 2 == 0 ? [n / 2] : [n / 2, n / 2 + 1]) : Array(1..<n)
        var next = 0
        for l in 1..<n {
            prefix += Double(sorted[l - 1])
            guard next < candidates.count, candidates[next] == l else { continue }
            next += 1
            let score = prefix * prefix / Double(l) + (total - prefix) * (total - prefix) / Double(n - l)
            if score > bestScore { bestScore = score; bestL = l; bestPrefix = prefix }
        }
        let (a, b) = levels(bestL, bestPrefix)
        return Group(alpha: Float((b - a) / 2), beta: Float((a + b) / 2), threshold: sorted[bestL], lowerCount: bestL)
    }

    /// Writes α·B + β: values above the threshold get +1, below −1; among values equal to it, as many take −1 as
    /// the split by rank assigns (`lowerCount` minus the values strictly below), so the counts — and the error —
    /// are exactly those of the closed form. `signs` receives B itself: the hardware's bits, decided here once rather
    /// than re-derived from the floats (β ± α may round to β when α is tiny).
    static func fill(_ w: UnsafePointer<Float>, _ n: Int, _ g: Group, into wq: UnsafeMutablePointer<Float>,
                     signs: UnsafeMutablePointer<Int8>? = nil) {
        let (hi, lo) = g.levels, t = g.threshold
        var lowerTies = 0
        if let lowerCount = g.lowerCount {
            var below = 0
            for i in 0..<n { below &+= Int(unsafeBitCast(w[i] < t, to: UInt8.self)) }  // branch-free (see select)
            lowerTies = lowerCount - below
        }
        // Without ties to split (the usual case), up = w ≥ t: branch-free, vectorised.
        if lowerTies <= 0 {
            for i in 0..<n { wq[i] = w[i] >= t ? hi : lo }
            if let signs { for i in 0..<n { signs[i] = w[i] >= t ? 1 : -1 } }
            return
        }
        for i in 0..<n {
            let v = w[i]
            let up: Bool
            if v > t { up = true } else if v < t { up = false } else if lowerTies > 0 { up = false; lowerTies -= 1 } else { up = true }
            wq[i] = up ? hi : lo
            signs?[i] = up ? 1 : -1
        }
    }
}

extension WeightBinarizer {
    /// Binarizes a whole weight tensor [groups·perGroup] (groups = output channels when `perChannel`, else 1) into
    /// `wq` (and B into `signs` when given); writes each group's α and β. `scratch` holds ≥ count floats: the groups
    /// run in parallel (`Parallel.pieces`), each worker in its own group-sized part of it.
    public func binarize(latent w: UnsafePointer<Float>, count: Int, outChannels: Int,
                         into wq: UnsafeMutablePointer<Float>, signs: UnsafeMutablePointer<Int8>? = nil,
                         groups: inout [Group], scratch: UnsafeMutablePointer<Float>) {
        let g = perChannel ? outChannels : 1, size = count / g
        precondition(size * g == count, "weight count \(count) is not a multiple of \(g) channels")
        if groups.count != g { groups = [Group](repeating: Group(alpha: 0, beta: 0, threshold: 0), count: g) }
        groups.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress!
            Parallel.pieces(g) { worker, range in
                for i in range {
                    out[i] = binarize(w + i * size, size, into: wq + i * size, signs: signs.map { $0 + i * size },
                                      scratch: scratch + worker * size)
                }
            }
        }
    }

    /// α·B + β from B and the groups of a `binarize` call: bit for bit the `wq` it wrote.
    public static func values(signs: UnsafePointer<Int8>, count: Int, groups: [Group],
                              into wq: UnsafeMutablePointer<Float>) {
        let size = count / Swift.max(groups.count, 1)
        groups.withUnsafeBufferPointer { groups in
            Parallel.pieces(groups.count) { _, range in
                for k in range {
                    let (hi, lo) = groups[k].levels
                    for i in (k * size)..<((k + 1) * size) { wq[i] = signs[i] > 0 ? hi : lo }
                }
            }
        }
    }

    /// Straight-through backward: grad += dWq·[|W − t| ≤ steClip·α] (+ the α, β terms when enabled); the groups
    /// run in parallel.
    public func backward(latent w: UnsafePointer<Float>, count: Int, dWq: UnsafePointer<Float>,
                         groups: [Group], grad: UnsafeMutablePointer<Float>) {
        let size = count / groups.count
        groups.withUnsafeBufferPointer { groups in
            Parallel.pieces(groups.count) { _, range in
                for k in range {
                    let base = k * size
                    backward(group: groups[k], w + base, size, dWq: dWq + base, grad: grad + base)
                }
            }
        }
    }

    /// The straight-through rule on one group of n weights.
    private func backward(group gr: Group, _ w: UnsafePointer<Float>, _ n: Int, dWq: UnsafePointer<Float>,
                          grad: UnsafeMutablePointer<Float>) {
        let window = steClip > 0 ? steClip * Swift.max(gr.alpha, 1e-12) : Float.infinity
        var sumD = 0.0, sumDB = 0.0
        for i in 0..<n {
            let d = w[i] - gr.threshold
            if abs(d) <= window { grad[i] += dWq[i] }
            if gradientThroughScale {
                sumD += Double(dWq[i])
                sumDB += Double(dWq[i]) * (w[i] >= gr.threshold ? 1 : -1)
            }
        }
        guard gradientThroughScale else { return }
        // ∂Wq_j/∂W_i through α = mean|W − t| and β = mean W (bwma) — B held fixed.
        let betaTerm = kind == .bwn ? 0 : Float(sumD / Double(n))
        let alphaTerm = Float(sumDB / Double(n))
        for i in 0..<n {
            let sign: Float = kind == .bwn ? (w[i] >= 0 ? 1 : -1) : (w[i] >= gr.threshold ? 1 : -1)
            grad[i] += betaTerm + alphaTerm * sign
        }
    }
}
