/// A bf16 value: the upper 16 bits of an IEEE binary32 (sign, 8 exponent bits, 7 fraction bits) — how mixed
/// precision stores a convolution output that only a batch norm reads (as PyTorch's autocast stores convolution
/// outputs), and what oneDNN's bf16 kernels read and write.
public struct BFloat16: Sendable, Equatable {
    public var bits: UInt16

    public init(bits: UInt16) { self.bits = bits }

    /// v rounded to nearest, ties to even — oneDNN's fp32 → bf16 conversion (finite values).
    @inline(__always)
    public init(_ v: Float) {
        let b = v.bitPattern
        bits = UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
    }

    /// The value as a Float (exact).
    @inline(__always)
    public var float: Float { Float(bitPattern: UInt32(bits) << 16) }
}

/// What the channels-last batch norm kernels read their input x as: Float, or bf16 where a mixed-precision
/// convolution wrote it. Both widen exactly, so a bf16 input gives bit for bit the result of the same values in
/// Float.
protocol NormInput {
    static func load16(_ p: UnsafePointer<Self>) -> Float16x
    static func value(_ p: UnsafePointer<Self>) -> Float
}

extension Float: NormInput {
    @inline(__always) static func load16(_ p: UnsafePointer<Float>) -> Float16x { load(p) }
    @inline(__always) static func value(_ p: UnsafePointer<Float>) -> Float { p.pointee }
}

extension BFloat16: NormInput {
    /// 16 values widened to Float (exact).
    @inline(__always) static func load16(_ p: UnsafePointer<BFloat16>) -> Float16x {
        let h = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt16>.self)
        // Lane by lane: the compiler makes vector zero-extensions of this loop inline, where the generic
        // SIMD16<UInt32>(truncatingIfNeeded:) stays an out-of-line call (1 % of a bf16 step).
        var w = SIMD16<UInt32>()
        for i in 0..<16 { w[i] = UInt32(h[i]) }
        return unsafeBitCast(w &<< 16, to: Float16x.self)
    }
    @inline(__always) static func value(_ p: UnsafePointer<BFloat16>) -> Float { p.pointee.float }
}

/// What the channels-last batch norm kernels write as: Float, or bf16 where the convolution next to it reads bf16 —
/// backward's input gradient dx for the convolution before, forward's output y for the one after (either would
/// round a Float tensor to bf16 itself: the same bits).
protocol NormOutput {
    static func store16(_ v: Float16x, _ p: UnsafeMutablePointer<Self>)
    static func store(_ v: Float, _ p: UnsafeMutablePointer<Self>)
}

extension Float: NormOutput {
    @inline(__always) static func store16(_ v: Float16x, _ p: UnsafeMutablePointer<Float>) { TensorEngine.store(v, p) }
    @inline(__always) static func store(_ v: Float, _ p: UnsafeMutablePointer<Float>) { p.pointee = v }
}

extension BFloat16: NormOutput {
    /// 16 values rounded to nearest, ties to even — lane for lane `BFloat16.init(_:)`.
    @inline(__always) static func store16(_ v: Float16x, _ p: UnsafeMutablePointer<BFloat16>) {
        let b = unsafeBitCast(v, to: SIMD16<UInt32>.self)
        let rounded = (b &+ 0x7FFF &+ ((b &>> 16) & 1)) &>> 16
        UnsafeMutableRawPointer(p).storeBytes(of: SIMD16<UInt16>(truncatingIfNeeded: rounded), as: SIMD16<UInt16>.self)
    }
    @inline(__always) static func store(_ v: Float, _ p: UnsafeMutablePointer<BFloat16>) { p.pointee = BFloat16(v) }
}
