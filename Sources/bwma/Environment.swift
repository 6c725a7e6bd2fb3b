import Distributed
import Foundation
import RunConfiguration
import TensorEngine

/// Process-wide set-up shared by the subcommands: the engine context (threads, backend, precision, convolution
/// algorithm) and the OpenBLAS kernel check.
enum Runtime {
    /// Sets the engine's worker count (OpenBLAS stays single-threaded: the engine parallelises over the batch), its
    /// backend and precision, and says on stderr where a request cannot be met on this CPU or OpenBLAS runs slow
    /// kernels on an AVX-512 CPU.
    static func configure(threads: Int, backend: String = "auto", precision: String = "fp32",
                          convAlgorithm: String = "auto") {
        let notes = EngineContext.configure(threads: threads, backend: Backend(rawValue: backend) ?? .auto,
                                            precision: Precision(rawValue: precision) ?? .fp32,
                                            convAlgorithm: ConvAlgorithm(rawValue: convAlgorithm) ?? .auto)
        BLAS.threads = 1
        for note in notes { printError("Note: \(note)") }
        if let warning = BLAS.slowKernelWarning() { printError(warning) }
    }

    /// As above from a run configuration's `runtime` section (validated).
    static func configure(_ r: RunConfig.RuntimeConfig) {
        configure(threads: r.threads, backend: r.backend, precision: r.precision, convAlgorithm: r.conv_algorithm)
    }
}

/// Runs a subcommand's body with the job's communicator: MPI is finalised on success; on failure under mpirun the
/// error is printed with the rank and the whole job is aborted, so no rank is left waiting in a collective.
func withCommunicator(_ body: (Communicator) throws -> Void) throws {
    let comm = try Communicator.world()
    do {
        try body(comm)
        comm.finalize()
    } catch {
        if comm.size > 1 {
            printError("Error: rank \(comm.rank) of \(comm.size): \(error)")
            comm.abort(1)
        }
        throw error
    }
}

/// Writes a line to standard error (human-readable progress; stdout is reserved for `--json`).
func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// A user-facing failure of a subcommand: ArgumentParser prints "Error: <description>" and exits non-zero, without
/// the usage text a `ValidationError` would add.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
