/// Explicit 16-lane SIMD helpers for the pointwise and reduction kernels. Swift does not vectorise loops with
/// branches or floating-point reductions by itself (a scalar, branchy ReLU backward took 11 % of a ResNet-20 step),
/// so these spell the vector code out; tails run scalar.
public typealias Float16x = SIMD16<Float>

@inline(__always) func load(_ p: UnsafePointer<Float>) -> Float16x {
    UnsafeRawPointer(p).loadUnaligned(as: Float16x.self)
}

@inline(__always) func store(_ v: Float16x, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float16x.self)
}

/// Σ p[0..<n], with 16 partial sums (pairwise-like accuracy for long rows).
@inline(__always) func vsum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = Float16x(), i = 0
    while i + 16 <= n { acc += load(p + i); i += 16 }
    var s = acc.sum()
    while i < n { s += p[i]; i += 1 }
    return s
}

/// Σ (p[i] − c)² over 0..<n.
@inline(__always) func vsumSquaredDeviation(_ p: UnsafePointer<Float>, _ n: Int, _ c: Float) -> Float {
    var acc = Float16x(), i = 0
    let cv = Float16x(repeating: c)
    while i + 16 <= n { let d = load(p + i) - cv; acc += d * d; i += 16 }
    var s = acc.sum()
    while i < n { let d = p[i] - c; s += d * d; i += 1 }
    return s
}

/// y[i] = x[i]·a + b over 0..<n.
@inline(__always) func vaffine(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, _ a: Float, _ b: Float) {
    let av = Float16x(repeating: a), bv = Float16x(repeating: b)
    var i = 0
    while i + 16 <= n { store(load(x + i) * av + bv, y + i); i += 16 }
    while i < n { y[i] = x[i] * a + b; i += 1 }
}

/// y[0..<n] = x[0..<n] for short rows (inline, no libc call).
/// Rows of 16 or more end with one overlapping vector instead of a scalar tail (`x` and `y` must not overlap).
@inline(__always) func vcopy(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
    if n >= 16 {
        var i = 0
        while i + 16 <= n { store(load(x + i), y + i); i += 16 }
        if i < n { store(load(x + n - 16), y + n - 16) }
    } else {
        var i = 0
        while i + 4 <= n { storeBytes4(y + i, x + i); i += 4 }
        while i < n { y[i] = x[i]; i += 1 }
    }
}

@inline(__always) func storeBytes4(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>) {
    UnsafeMutableRawPointer(y).storeBytes(of: UnsafeRawPointer(x).loadUnaligned(as: SIMD4<Float>.self),
                                          as: SIMD4<Float>.self)
}

/// y[0..<n] += x[0..<n].
@inline(__always) func vaccumulate(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + 16 <= n { store(load(y + i) + load(x + i), y + i); i += 16 }
    while i + 4 <= n {
        let a = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD4<Float>.self)
        let b = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(y + i).storeBytes(of: a + b, as: SIMD4<Float>.self)
        i += 4
    }
    while i < n { y[i] += x[i]; i += 1 }
}

/// y[0..<n] = 0. Written out with vector stores (no libc call): the zero runs in im2col are short and many, and a
/// plain loop here is turned into a `memset` call per run, which cost 6 % of a ResNet-20 step.
@inline(__always) func vzero(_ y: UnsafeMutablePointer<Float>, _ n: Int) {
    if n >= 16 {
        var i = 0
        while i + 16 <= n { store(Float16x(), y + i); i += 16 }
        if i < n { store(Float16x(), y + n - 16) }
    } else {
        var i = 0
        while i + 4 <= n { UnsafeMutableRawPointer(y + i).storeBytes(of: SIMD4<Float>(), as: SIMD4<Float>.self); i += 4 }
        let r = n - i
        if r >= 1 { y[i] = 0 }
        if r >= 2 { y[i + 1] = 0 }
        if r >= 3 { y[i + 2] = 0 }
    }
}

/// Zeroes columns [x0, x1) of rows [y0, y1) of a row-major plane of width `w`, column by column (strided stores, so
/// no per-row `memset` call is generated for the one- or two-element runs of a 3x3 or 5x5 window).
@inline(__always) func zeroColumns(_ p: UnsafeMutablePointer<Float>, width w: Int, rows: Range<Int>, columns: Range<Int>) {
    for x in columns {
        var q = p + rows.lowerBound * w + x
        for _ in rows { q.pointee = 0; q += w }
    }
}

/// y[i] = (x[i] − μ)·a + b over 0..<n, clamped at 0 when `relu` (batch-norm apply; subtracting μ first keeps
/// full precision when |μ| ≫ σ).
@inline(__always) func vnormalize(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, _ mu: Float,
                                  _ a: Float, _ b: Float, relu: Bool) {
    let mv = Float16x(repeating: mu), av = Float16x(repeating: a), bv = Float16x(repeating: b), zero = Float16x()
    var i = 0
    if relu {
        while i + 16 <= n {
            let v = (load(x + i) - mv) * av + bv
            store(v.replacing(with: zero, where: v .< zero), y + i)
            i += 16
        }
        while i < n { y[i] = Swift.max((x[i] - mu) * a + b, 0); i += 1 }
    } else {
        while i + 16 <= n { store((load(x + i) - mv) * av + bv, y + i); i += 16 }
        while i < n { y[i] = (x[i] - mu) * a + b; i += 1 }
    }
}
