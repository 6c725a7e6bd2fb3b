import TensorEngine
import XCTest

/// The workspace's pieces: one grow-only slot carved into 64-byte-aligned, disjoint buffers that a later pass of the
/// same sizes gets again without a new allocation.
final class WorkspaceTests: XCTestCase {
    func testPiecesAreAlignedDisjointAndReused() {
        let workspace = Workspace()
        let sizes = [100, 0, 4096, 1, 63]
        let first = workspace.pieces(.datapathInputs, worker: 1, bytes: sizes)
        XCTAssertEqual(first.count, sizes.count)
        for (i, p) in first.enumerated() {
            XCTAssertEqual(Int(bitPattern: p) % 64, 0, "piece \(i) is 64-byte aligned")
            if i + 1 < first.count { XCTAssertGreaterThanOrEqual(first[i + 1] - p, sizes[i], "piece \(i) fits") }
        }
        // Writing every piece whole leaves the others intact.
        for (i, p) in first.enumerated() {
            p.initializeMemory(as: UInt8.self, repeating: UInt8(i + 1), count: sizes[i])
        }
        for (i, p) in first.enumerated() {
            let bytes = UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: sizes[i])
            XCTAssertTrue(bytes.allSatisfy { $0 == UInt8(i + 1) }, "piece \(i)")
        }
        XCTAssertEqual(workspace.pieces(.datapathInputs, worker: 1, bytes: sizes), first, "the same slot again")
        XCTAssertEqual(workspace.pieces(.datapathInputs, worker: 1, bytes: [8]).first, first.first,
                       "a smaller request reuses the slot")
        XCTAssertNotEqual(workspace.pieces(.datapathInputs, worker: 0, bytes: sizes).first, first.first,
                          "another worker has its own slot")
    }
}
