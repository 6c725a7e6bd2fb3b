import TensorEngine
import XCTest

final class ParameterStoreTests: XCTestCase {
    func testParametersAreContiguousViewsInRegistrationOrder() {
        let s = ParameterStore()
        let a = s.parameter("a", shape: [2, 3]), b = s.parameter("b", shape: [4])
        let m = s.buffer("m", shape: [5])
        s.finalize()
        XCTAssertEqual(s.parameterCount, 10)
        XCTAssertEqual(s.bufferCount, 5)
        XCTAssertEqual(a.value, s.values)
        XCTAssertEqual(b.value, s.values + 6)
        XCTAssertEqual(b.grad, s.grads + 6)
        XCTAssertEqual(m.value, s.bufferValues)
        b.grad[1] = 3
        s.zeroGrad()
        XCTAssertEqual(b.grads, [0, 0, 0, 0])
        XCTAssert(s["b"] === b)
        XCTAssert(s["m"] === m)
    }

    func testTensorReusesStorageUntilItMustGrow() {
        let t = Tensor(shape: [4, 4])
        let before = Tensor.allocationCount
        XCTAssertFalse(t.ensure(shape: [2, 8]))
        XCTAssertFalse(t.ensure(shape: [3]))
        XCTAssertEqual(Tensor.allocationCount, before)
        XCTAssertTrue(t.ensure(shape: [5, 5]))
        XCTAssertEqual(t.count, 25)
    }

    /// Growing moves `data` and says so (`storageGeneration`); re-labelling within the capacity does not.
    func testStorageGenerationTellsWhenDataMoved() {
        let t = Tensor(shape: [4])
        let old = t.data
        XCTAssertEqual(t.storageGeneration, 0)
        XCTAssertFalse(t.ensure(shape: [2, 2]))
        XCTAssertEqual(t.storageGeneration, 0)
        XCTAssertEqual(t.data, old)
        XCTAssertTrue(t.ensure(shape: [64]))
        XCTAssertEqual(t.storageGeneration, 1)
        XCTAssertEqual((0..<64).map { t.data[$0] }, [Float](repeating: 0, count: 64), "the new storage is zeroed")
        XCTAssertFalse(t.ensure(shape: [8]))
        XCTAssertEqual(t.storageGeneration, 1, "re-labelling does not move the storage")
    }

    func testSlowKernelWarningOnlyForNonAVX512Cores() {
        // On this machine OpenBLAS must be on an AVX-512 kernel when the CPU has AVX-512 (the launch scripts set
        // OPENBLAS_CORETYPE); the check itself must fire exactly when the core is not an AVX-512 one.
        let warning = BLAS.slowKernelWarning()
        if BLAS.cpuHasAVX512 {
            let fast = ["skylakex", "cooperlake", "sapphirerapids", "zen4"].contains(BLAS.coreName.lowercased())
            XCTAssertEqual(warning == nil, fast, "core \(BLAS.coreName)")
            if let warning { XCTAssert(warning.contains("OPENBLAS_CORETYPE=SkylakeX")) }
        } else {
            XCTAssertNil(warning)
        }
    }
}
