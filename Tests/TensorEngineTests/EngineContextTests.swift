import TensorEngine
import XCTest

/// Backend and precision resolution: what a run asks for and what this CPU gives it (launch/test runs this under
/// ONEDNN_MAX_CPU_ISA=AVX512_CORE and AVX2 too, where the answers change).
final class EngineContextTests: XCTestCase {
    override func tearDown() { EngineContext.configure(threads: 1, backend: .reference, precision: .fp32) }

    func testReferenceIsAlwaysHonoured() {
        let notes = EngineContext.configure(threads: 1, backend: .reference, precision: .fp32)
        XCTAssertEqual(EngineContext.backend, .reference)
        XCTAssertFalse(EngineContext.usesDNNL)
        XCTAssertEqual(notes, [])
    }

    func testAutoAndOneDNNResolveByInstructionSet() {
        for requested in [Backend.auto, .onednn] {
            let notes = EngineContext.configure(threads: 1, backend: requested, precision: .fp32)
            if DNNL.shared != nil && DNNL.supportsEngine {
                XCTAssertEqual(EngineContext.backend, .onednn)
                XCTAssertEqual(notes, [])
            } else {
                XCTAssertEqual(EngineContext.backend, .reference, "ISA \(DNNL.isaName)")
                // Asked for explicitly, the fallback is said; `auto` falls back quietly.
                XCTAssertEqual(notes.count, requested == .onednn ? 1 : 0, "\(notes)")
            }
        }
    }

    func testBF16OnlyWhereNative() {
        let notes = EngineContext.configure(threads: 1, backend: .auto, precision: .bf16)
        if EngineContext.usesDNNL && DNNL.hasNativeBF16 {
            XCTAssertEqual(EngineContext.precision, .bf16)
            XCTAssertEqual(notes, [])
        } else {
            XCTAssertEqual(EngineContext.precision, .fp32)
            XCTAssertEqual(notes.count, 1)
            XCTAssertTrue(notes[0].contains("running fp32"), notes[0])
        }
        XCTAssertTrue(EngineContext.summary.contains(EngineContext.precision.rawValue))
    }

    /// The convolution algorithm is a setting of its own; the summary names it where it applies (fp32 on oneDNN).
    func testConvAlgorithmIsConfiguredAndNamed() {
        defer { EngineContext.configure(threads: 1, backend: .reference) }
        for algorithm in ConvAlgorithm.allCases {
            EngineContext.configure(threads: 1, backend: .auto, precision: .fp32, convAlgorithm: algorithm)
            XCTAssertEqual(EngineContext.convAlgorithm, algorithm)
            let named = EngineContext.summary.hasSuffix(algorithm == .auto ? " winograd" : " direct")
            XCTAssertEqual(named, EngineContext.usesDNNL, EngineContext.summary)
        }
        EngineContext.configure(threads: 1, backend: .reference)
        XCTAssertEqual(EngineContext.convAlgorithm, .auto, "configure's default")
    }
}
