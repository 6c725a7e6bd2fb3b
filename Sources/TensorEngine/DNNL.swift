import CDNNL
import Foundation

/// The process's oneDNN CPU engine and stream, and what oneDNN can do on this CPU.
///
/// oneDNN picks its kernels at run time from the CPU's instruction set (AMX, AVX512-BF16/VNNI, AVX-512, AVX2), capped
/// by `ONEDNN_MAX_CPU_ISA`; `isaName` says what it chose (`ONEDNN_VERBOSE=1` shows every kernel). Debian builds it
/// with OpenMP, so its thread count is OpenMP's (`setThreads`).
///
/// Sendable (unchecked): the engine and stream are created once and only used from the thread that runs the model.
public final class DNNL: @unchecked Sendable {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t

    private init?() {
        var e: dnnl_engine_t?
        guard dnnl_engine_create(&e, dnnl_cpu, 0) == dnnl_success, let e else { return nil }
        var s: dnnl_stream_t?
        guard dnnl_stream_create(&s, e, dnnl_stream_default_flags.rawValue) == dnnl_success, let s else {
            dnnl_engine_destroy(e)
            return nil
        }
        engine = e; stream = s
    }

    /// The engine, or nil where oneDNN cannot create a CPU engine.
    public static let shared: DNNL? = DNNL()

    /// oneDNN's effective instruction set on this machine (after `ONEDNN_MAX_CPU_ISA`).
    public static var isa: dnnl_cpu_isa_t { dnnl_get_effective_cpu_isa() }

    /// A readable name of `isa`, e.g. `avx512_core_bf16` (stated next to every benchmark).
    public static var isaName: String {
        let v = isa.rawValue
        let names: [(UInt32, String)] = [
            (dnnl_cpu_isa_avx512_core_amx.rawValue, "avx512_core_amx"),
            (dnnl_cpu_isa_avx512_core_bf16.rawValue, "avx512_core_bf16"),
            (dnnl_cpu_isa_avx512_core_vnni.rawValue, "avx512_core_vnni"),
            (dnnl_cpu_isa_avx512_core.rawValue, "avx512_core"),
            (dnnl_cpu_isa_avx2_vnni.rawValue, "avx2_vnni"),
            (dnnl_cpu_isa_avx2.rawValue, "avx2"),
            (dnnl_cpu_isa_avx.rawValue, "avx"),
            (dnnl_cpu_isa_sse41.rawValue, "sse41"),
        ]
        // Each ISA's value is a superset of the bits of those below it: the first one fully contained is the answer.
        for (bits, name) in names where v & bits == bits { return name }
        return "unknown"
    }

    /// bf16 convolutions run natively (AVX512-BF16 or AMX). On plain AVX-512 oneDNN only emulates them — slower than
    /// fp32 — and on AVX2 it has none, so bf16 is used only where this is true.
    public static var hasNativeBF16: Bool {
        let bf16 = dnnl_cpu_isa_avx512_core_bf16.rawValue
        return isa.rawValue & bf16 == bf16
    }

    /// u8 × s8 products summed in s32 by one instruction (AVX512-VNNI or AMX); without it oneDNN's int8 kernels pair
    /// products in s16 with saturation (`IntegerGEMM`).
    public static var hasVNNI: Bool {
        let vnni = dnnl_cpu_isa_avx512_core_vnni.rawValue
        return isa.rawValue & vnni == vnni
    }

    /// oneDNN runs the engine's layers only with AVX-512 or better (`avx512_core`: Skylake-SP and later, Zen 4). With
    /// Debian's oneDNN 2.6 capped at AVX2 (`ONEDNN_MAX_CPU_ISA=AVX2`), the model-level gradient tests aborted with heap
    /// corruption in 1 of 2 to 1 of 8 runs on small odd shapes (2–6 channels, 3x3–6x6 images), never on AVX-512
    /// (0 of 20): the engine then keeps its reference kernels rather than risk it.
    public static var supportsEngine: Bool {
        let avx512 = dnnl_cpu_isa_avx512_core.rawValue
        return isa.rawValue & avx512 == avx512
    }

    /// Sets oneDNN's (OpenMP's) thread count.
    public static func setThreads(_ n: Int) { omp_set_num_threads(Int32(Swift.max(1, n))) }

    /// Runs `body` with the calling thread's OpenMP thread count set to `n`, then restores it (OpenMP keeps the
    /// count per thread: a worker of `Parallel.chunks` caps only its own oneDNN calls).
    public static func withThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let saved = omp_get_max_threads()
        omp_set_num_threads(Int32(Swift.max(1, n)))
        defer { omp_set_num_threads(saved) }
        return try body()
    }

    /// Checks a oneDNN call that cannot fail for valid arguments (an internal invariant, like a `precondition`).
    @inline(__always)
    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        // Not a `precondition`: -Ounchecked would compile it out and let a failed call run on.
        if status != dnnl_success { fatalError("oneDNN: \(what()) failed with status \(status.rawValue)") }
    }

    /// Runs a primitive on the stream and waits for it.
    func execute(_ p: dnnl_primitive_t, _ args: [dnnl_exec_arg_t]) {
        args.withUnsafeBufferPointer { a in
            DNNL.check(dnnl_primitive_execute(p, stream, Int32(a.count), a.baseAddress), "primitive execute")
        }
        DNNL.check(dnnl_stream_wait(stream), "stream wait")
    }
}
