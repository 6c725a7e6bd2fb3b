import Foundation
import TensorEngine

/// The engine configuration the numerical tests run on: `BWMA_TEST_BACKEND` (`reference`, the default, or
/// `onednn`) and `BWMA_TEST_PRECISION` (`fp32`, the default; the gradient tests need fp32). launch/test runs the
/// numerical suites once per backend, and on oneDNN again under `ONEDNN_MAX_CPU_ISA` caps (AVX2, AVX512_CORE).
public enum EngineUnderTest {
    public static var backend: Backend {
        ProcessInfo.processInfo.environment["BWMA_TEST_BACKEND"].flatMap(Backend.init(rawValue:)) ?? .reference
    }

    public static var precision: Precision {
        ProcessInfo.processInfo.environment["BWMA_TEST_PRECISION"].flatMap(Precision.init(rawValue:)) ?? .fp32
    }

    /// Configures the engine for a test (call from `setUp`).
    public static func configure(threads: Int = 1) {
        EngineContext.configure(threads: threads, backend: backend, precision: precision)
    }

    /// Back to the default (call from `tearDown`).
    public static func reset() { EngineContext.configure(threads: 1, backend: .reference, precision: .fp32) }
}
