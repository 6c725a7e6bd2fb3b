/// Which kernels run the engine's convolutions.
public enum Backend: String, CaseIterable, Sendable, Codable {
    /// oneDNN where it is available, otherwise the reference kernels.
    case auto
    /// oneDNN (Debian's libdnnl): blocked/channels-last layouts, AVX-512, AVX512-BF16/VNNI and AMX kernels.
    case onednn
    /// The engine's own im2col/shifted-GEMM kernels over OpenBLAS.
    case reference
}

/// The arithmetic of convolutions and matrix products.
public enum Precision: String, CaseIterable, Sendable, Codable {
    /// Everything in fp32.
    case fp32
    /// Mixed precision as PyTorch's CPU autocast defines it: convolution operands in bf16 with fp32 accumulation;
    /// weights, batch-norm statistics, loss, gradients that leave a layer and the optimiser in fp32.
    case bf16
}

/// How oneDNN computes the fp32 3 × 3 convolutions (`DNNLConvolution.Algorithm`).
public enum ConvAlgorithm: String, CaseIterable, Sendable, Codable {
    /// Winograd F(4 × 4, 3 × 3) where it outruns the direct kernels (fp32, 3 × 3, stride 1, padding 1, at least 32
    /// input and output channels, on AVX-512), direct elsewhere.
    case auto
    /// The direct kernels everywhere: sums closest to the reference backend's (no transform rounding).
    case direct
}

/// The engine's run-time context: the one place that holds process-wide engine settings (threads, backend,
/// precision). Set once at start-up, before any model runs (`configure`); read by the layers when they build their
/// kernels.
///
/// Everything process-wide that the engine keeps lives here: the settings (written by `configure`, or `threads` by
/// tests that compare thread counts) and the kernels' scratch memory (`workspace`). Other process-wide state is
/// MPI's own (`Communicator.world`, one MPI_Init per process) and the diagnostic `Tensor.allocationCount`.
public enum EngineContext {
    nonisolated(unsafe) private static var resolved = (backend: Backend.reference, precision: Precision.fp32)
    nonisolated(unsafe) private static var workers = 1

    /// Worker threads of the engine's own loops (`Parallel.chunks`, `Parallel.pieces`), ≥ 1.
    public static var threads: Int {
        get { workers }
        set { workers = Swift.max(1, newValue) }
    }

    /// Grow-only scratch memory of the built-in kernels (one slot per purpose and worker).
    public static let workspace = Workspace()

    /// The backend in effect (`.onednn` or `.reference`, never `.auto`).
    public static var backend: Backend { resolved.backend }
    /// The precision in effect (bf16 only where oneDNN runs it natively).
    public static var precision: Precision { resolved.precision }
    /// How oneDNN computes fp32 3 × 3 convolutions (read when a layer builds its kernels; tests set it to compare).
    nonisolated(unsafe) public static var convAlgorithm = ConvAlgorithm.auto
    /// Whether convolutions run on oneDNN.
    public static var usesDNNL: Bool { resolved.backend == .onednn }

    /// Sets threads, backend, precision and the convolution algorithm; returns notes for the user where a request
    /// could not be met (a precision or backend this CPU does not run), each said once.
    @discardableResult
    public static func configure(threads: Int, backend: Backend = .auto, precision: Precision = .fp32,
                                 convAlgorithm: ConvAlgorithm = .auto) -> [String] {
        self.threads = threads
        self.convAlgorithm = convAlgorithm
        var notes: [String] = []
        var b = backend
        if b != .reference {
            if DNNL.shared == nil {
                if b == .onednn { notes.append("oneDNN could not create a CPU engine: using the reference backend") }
                b = .reference
            } else if !DNNL.supportsEngine {
                if b == .onednn {
                    notes.append("oneDNN on this CPU (ISA \(DNNL.isaName)) has no AVX-512 kernels; its AVX2 path is not "
                                 + "used (docs/benchmarks.md): using the reference backend")
                }
                b = .reference
            } else {
                b = .onednn
                DNNL.setThreads(threads)
            }
        }
        var p = precision
        if p == .bf16 {
            if b != .onednn {
                notes.append("precision bf16 needs the oneDNN backend: running fp32")
                p = .fp32
            } else if !DNNL.hasNativeBF16 {
                notes.append("precision bf16: this CPU (oneDNN ISA \(DNNL.isaName)) has no native bf16 kernels: running fp32")
                p = .fp32
            }
        }
        resolved = (b, p)
        return notes
    }

    /// A one-line description for logs and benchmark JSON, e.g. `onednn/bf16 (avx512_core_bf16)`; in fp32 on
    /// oneDNN also the convolution algorithm asked for, e.g. `onednn/fp32 (avx512_core_bf16) winograd`.
    public static var summary: String {
        guard usesDNNL else { return "reference/\(precision.rawValue)" }
        let algorithm = precision == .fp32 ? (convAlgorithm == .auto ? " winograd" : " direct") : ""
        return "onednn/\(precision.rawValue) (\(DNNL.isaName))\(algorithm)"
    }
}
