import COpenBLAS
import Foundation

/// Thin, checked entry points into OpenBLAS. Row-major throughout; every call names its leading dimensions.
public enum BLAS {
    /// C[M×N] = alpha · op(A) · op(B) + beta · C, row-major.
    @inline(__always)
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The kernel family OpenBLAS chose for this CPU (e.g. "SkylakeX", "Cooperlake", "Haswell", "Prescott").
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// Threads OpenBLAS uses per call.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }

    /// Whether the CPU advertises AVX-512F (read from /proc/cpuinfo; false where that file is absent).
    public static var cpuHasAVX512: Bool {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        return info.split(separator: "\n").contains { $0.hasPrefix("flags") && $0.split(separator: " ").contains("avx512f") }
    }

    /// Kernel families that use AVX-512 in OpenBLAS 0.3.x.
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids", "zen4"]

    /// A loud warning when OpenBLAS runs non-AVX-512 kernels on an AVX-512 CPU (Debian's OpenBLAS 0.3.21 falls back
    /// to Prescott on CPUs it does not know, about 6x slower), or `nil` when all is well.
    public static func slowKernelWarning() -> String? {
        let core = coreName
        guard cpuHasAVX512, !avx512Cores.contains(core.lowercased()) else { return nil }
        return """
            WARNING: OpenBLAS is running its '\(core)' kernels on a CPU with AVX-512: GEMM is several times slower \
            than it should be. Launch with OPENBLAS_CORETYPE=SkylakeX (the scripts in launch/ do this), set before the \
            process starts.
            """
    }
}
