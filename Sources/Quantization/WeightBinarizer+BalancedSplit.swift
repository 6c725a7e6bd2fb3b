extension WeightBinarizer {
    /// The balanced split without sorting: the sum of the k = ⌊n/2⌋ smallest weights, the total, and the k-th
    /// smallest value (the threshold); for odd n the split one further is also evaluated (its threshold is the
    /// smallest of the upper part).
    static func balancedSplit(_ w: UnsafePointer<Float>, _ n: Int, scratch a: UnsafeMutablePointer<Float>) -> Group {
        let k = n / 2
        let r = bracketedRank(w, n, k, scratch: a) ?? selectedRank(w, n, k, scratch: a)
        let lower = r.lower, total = r.total
        func score(_ l: Int, _ s: Double) -> Double { s * s / Double(l) + (total - s) * (total - s) / Double(n - l) }
        var bestL = k, bestS = lower, threshold = r.kth
        if n % 2 == 1 {
            let s = lower + Double(r.kth)
            if score(k + 1, s) > score(k, lower) { bestL = k + 1; bestS = s; threshold = r.next }
        }
        let lo = bestS / Double(bestL), hi = (total - bestS) / Double(n - bestL)
        return Group(alpha: Float((hi - lo) / 2), beta: Float((lo + hi) / 2), threshold: threshold, lowerCount: bestL)
    }

    /// What the balanced split needs of rank k: the sum of the k smallest weights and of all (Double), the k-th
    /// smallest, and (odd n) the smallest of those above it.
    struct RankStatistics {
        var lower: Double, total: Double
        var kth: Float, next: Float
    }

    /// By one selection (expected O(n)) over a copy of all n weights, which puts the k smallest first.
    static func selectedRank(_ w: UnsafePointer<Float>, _ n: Int, _ k: Int, scratch a: UnsafeMutablePointer<Float>)
        -> RankStatistics {
        a.update(from: w, count: n)
        select(a, n, k)
        var lower = 0.0
        for i in 0..<k { lower += Double(a[i]) }
        var total = lower
        for i in k..<n { total += Double(a[i]) }
        var next = a[k]
        if n % 2 == 1 {
            next = a[k + 1]
            for i in (k + 2)..<n where a[i] < next { next = a[i] }
        }
        return RankStatistics(lower: lower, total: total, kth: a[k], next: next)
    }

    /// The same by Floyd and Rivest's bracket: sorting a sample of 128 weights taken at a fixed stride gives two
    /// values lo ≤ hi that enclose rank k with high probability; one branch-free pass then counts and sums the
    /// weights below lo and copies those in [lo, hi] (~1/5 of n), and the selection runs on the copy alone
    /// (ResNet-18 W1A4: the balanced split's share of a bf16 step 2.1 → 1.3 %). nil (the caller selects over all)
    /// for n < 2,048, or where rank k (and, for odd n, the one after it) is not inside the bracket.
    static func bracketedRank(_ w: UnsafePointer<Float>, _ n: Int, _ k: Int, scratch a: UnsafeMutablePointer<Float>)
        -> RankStatistics? {
        let samples = 128, margin = 12  // ±2σ of the sample rank of the median (σ = √(128/4))
        guard n >= 2048 else { return nil }
        let (lo, hi) = withUnsafeTemporaryAllocation(of: Float.self, capacity: samples) { buffer in
            var sample = buffer  // (the buffer pointer: sorting it sorts the stack memory in place)
            for i in 0..<samples { sample[i] = w[i * n / samples + n / (2 * samples)] }
            sample.sort()
            let at = k * samples / n
            return (sample[Swift.max(at - margin, 0)], sample[Swift.min(at + margin, samples - 1)])
        }
        // Branch-free (the outcomes are coin flips: see select), four interleaved Double sums of each kind.
        var below = 0, inside = 0, t = SIMD4<Double>(), b = SIMD4<Double>()
        @inline(__always) func visit(_ v: Float, _ lane: Int) {
            let isBelow = unsafeBitCast(v < lo, to: UInt8.self)
            t[lane] += Double(v)
            b[lane] += Double(v) * Double(isBelow)
            below &+= Int(isBelow)
            a[inside] = v
            inside &+= Int((isBelow ^ 1) & unsafeBitCast(v <= hi, to: UInt8.self))
        }
        var i = 0
        while i + 4 <= n {
            visit(w[i], 0); visit(w[i + 1], 1); visit(w[i + 2], 2); visit(w[i + 3], 3)
            i += 4
        }
        while i < n { visit(w[i], 0); i += 1 }
        let total = (t[0] + t[1]) + (t[2] + t[3]), sumBelow = (b[0] + b[1]) + (b[2] + b[3])
        let r = k - below
        guard r >= 0, r < inside, n % 2 == 0 || r + 1 < inside else { return nil }
        select(a, inside, r)
        var lower = sumBelow
        for i in 0..<r { lower += Double(a[i]) }
        var next = a[r]
        if n % 2 == 1 {
            next = a[r + 1]
            for i in (r + 2)..<inside where a[i] < next { next = a[i] }
        }
        return RankStatistics(lower: lower, total: total, kth: a[r], next: next)
    }

    /// Reorders a[0..<n] so that a[k] is the k-th smallest, with everything before it ≤ and after it ≥. Each round
    /// splits the live range around a median-of-three pivot into < pivot | == pivot | > pivot with branch-free
    /// passes (a comparison's outcome moves an index instead of a branch: on weights the outcomes are coin flips,
    /// which the branchy Hoare partition this replaces mispredicted half the time: 10.3 → 2.8 ns per element on
    /// 4,608-weight groups),
    /// then keeps the part holding rank k; the pivot's own part is never empty, so every round shrinks the range.
    static func select(_ a: UnsafeMutablePointer<Float>, _ n: Int, _ k: Int) {
        var lo = 0, hi = n  // the live range [lo, hi) holds rank k
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            let x = a[lo], y = a[mid], z = a[hi - 1]
            let pivot = Swift.max(Swift.min(x, y), Swift.min(Swift.max(x, y), z))
            let less = partition(a, lo, hi) { $0 < pivot }
            if k < less { hi = less; continue }
            let equal = partition(a, less, hi) { $0 == pivot }
            if k < equal { return }
            lo = equal
        }
    }

    /// Moves the elements of a[lo..<hi] that satisfy `isFirst` to the front, branch-free (every element is written;
    /// the front index advances by the outcome); returns the end of the front part. Invariant: a[lo..<front]
    /// satisfy, a[front...i] do not.
    @inline(__always)
    private static func partition(_ a: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int,
                                  _ isFirst: (Float) -> Bool) -> Int {
        var front = lo
        for i in lo..<hi {
            let v = a[i]
            a[i] = a[front]
            a[front] = v
            front &+= Int(unsafeBitCast(isFirst(v), to: UInt8.self))  // (`? 1 : 0` compiled to a branch)
        }
        return front
    }
}
