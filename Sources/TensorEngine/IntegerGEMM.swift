import CDNNL

/// Exact integer matrix products on oneDNN's int8 GEMM (`dnnl_gemm_u8s8s32`): u8 × s8 products accumulated in s32 —
/// AVX512-VNNI `vpdpbusd` or AMX tiles, four times the multiply-adds per instruction of fp32 FMA. Without VNNI
/// (plain AVX-512) oneDNN pairs products in s16 with saturation (`vpmaddubsw`), so the operands must keep a pair of
/// products within ±32767 — true for the 0/1 bit-planes and cells this is used for.
public enum IntegerGEMM {
    /// Whether the engine uses it: oneDNN with AVX-512 (`DNNL.supportsEngine`; on AVX2 the engine keeps its fp32
    /// kernels, as for its convolutions).
    public static var isAvailable: Bool { DNNL.shared != nil && DNNL.supportsEngine }

    /// c[i, j] = Σₗ a[i, l]·b[l, j] for i < m, j < n, l < k; row-major with leading dimensions lda, ldb, ldc.
    /// Exact while every sum fits in Int32. Runs on the calling thread's OpenMP thread count (one inside
    /// `Parallel.chunks`).
    public static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<UInt8>, lda: Int, b: UnsafePointer<Int8>,
                                ldb: Int, c: UnsafeMutablePointer<Int32>, ldc: Int) {
        precondition(isAvailable, "the integer GEMM needs oneDNN with AVX-512 (check IntegerGEMM.isAvailable)")
        var offset: Int32 = 0
        let plain = CChar(bitPattern: UInt8(ascii: "N")), fixedOffset = CChar(bitPattern: UInt8(ascii: "F"))
        let status = dnnl_gemm_u8s8s32(plain, plain, fixedOffset, dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), 1, a,
                                       dnnl_dim_t(lda), 0, b, dnnl_dim_t(ldb), 0, 0, c, dnnl_dim_t(ldc), &offset)
        DNNL.check(status, "u8 × s8 → s32 GEMM \(m)x\(n)x\(k)")
    }
}
