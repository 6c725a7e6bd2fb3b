import Data
import Foundation
import XCTest

final class CIFARReaderTests: XCTestCase {
    var fx: IDXFixtures!
    override func setUpWithError() throws { fx = try IDXFixtures() }
    override func tearDown() { fx?.remove() }

    /// The first 20 real CIFAR-10 test images in the official binary format.
    func testRealCIFAR10RecordsAndLabels() throws {
        var pixels = [UInt8](), labels = [Int32]()
        let path = try RealFixtures.path("test_batch_first20.bin")
        try CIFARReader.read(path: path, variant: .cifar10, pixels: &pixels, into: &labels)
        XCTAssertEqual(labels, [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6])
        XCTAssertEqual(pixels.count, 20 * 3072)
        // Record r's pixels are bytes 1…3072 of the record: the reader drops exactly the label byte.
        let raw = [UInt8](try Foundation.Data(contentsOf: URL(fileURLWithPath: path)))
        for r in [0, 7, 19] {
            XCTAssertEqual(Array(pixels[(r * 3072)..<((r + 1) * 3072)]), Array(raw[(r * 3073 + 1)..<((r + 1) * 3073)]))
        }
        // A photo, not noise: neighbouring pixels of the first image (a cat) are strongly correlated.
        var total = 0, pairs = 0
        for y in 0..<32 {
            for x in 0..<31 {
                let a = Int(pixels[y * 32 + x]), b = Int(pixels[y * 32 + x + 1])
                total += abs(a - b)
                pairs += 1
            }
        }
        XCTAssertLessThan(Double(total) / Double(pairs), 20)
    }

    func testLoadsAFolderAsTheTestSplit() throws {
        try fx.writeRaw("test_batch.bin", [UInt8](try Foundation.Data(contentsOf: URL(fileURLWithPath: try RealFixtures.path("test_batch_first20.bin")))))
        let d = try CIFARReader.load(directory: fx.dir.path, variant: .cifar10, split: .test)
        XCTAssertEqual(d.count, 20)
        XCTAssertEqual(d.sampleShape, [3, 32, 32])
        XCTAssertEqual(d.numClasses, 10)
        XCTAssertEqual(d.labels.prefix(4), [3, 8, 8, 0])
    }

    func testCIFAR100FineAndCoarseLabels() throws {
        // Two records: coarse 3 / fine 71, coarse 19 / fine 0.
        var bytes = [UInt8]()
        for (coarse, fine) in [(3, 71), (19, 0)] {
            bytes += [UInt8(coarse), UInt8(fine)] + IDXFixtures.pseudoRandomBytes(3072, seed: UInt32(fine + 1))
        }
        try fx.writeRaw("train.bin", bytes)
        let fine = try CIFARReader.load(directory: fx.dir.path, variant: .cifar100, split: .train)
        XCTAssertEqual(fine.labels, [71, 0])
        XCTAssertEqual(fine.numClasses, 100)
        XCTAssertEqual(Array(fine.pixels.buffer[0..<3072]), Array(bytes[2..<3074]))
        let coarse = try CIFARReader.load(directory: fx.dir.path, variant: .cifar100, split: .train, labels: .coarse)
        XCTAssertEqual(coarse.labels, [3, 19])
        XCTAssertEqual(coarse.numClasses, 20)
    }

    func testTruncatedFileNamesFileAndByteCounts() throws {
        let p = try fx.writeRaw("test_batch.bin", [UInt8](repeating: 1, count: 3073 * 2 + 100))
        let e = expectDataError("cut record") { _ = try CIFARReader.load(directory: fx.dir.path, variant: .cifar10, split: .test) }
        XCTAssertEqual(e, .truncated(path: p, expectedBytes: 3073 * 3, gotBytes: 3073 * 2 + 100))
    }

    func testLabelOutOfRangeNamesRecordAndOffset() throws {
        var bytes = [UInt8](repeating: 0, count: 3073 * 3)
        bytes[3073 * 2] = 200
        try fx.writeRaw("test_batch.bin", bytes)
        let e = expectDataError("label 200") { _ = try CIFARReader.load(directory: fx.dir.path, variant: .cifar10, split: .test) }
        XCTAssertTrue("\(e!)".contains("record 2 (byte offset 6146): label 200"), "\(e!)")
    }

    func testMissingBatchFileSaysWhereToGetTheData() throws {
        try fx.writeRaw("data_batch_1.bin", [UInt8](repeating: 0, count: 3073))
        let e = expectDataError("no batch 2") { _ = try CIFARReader.load(directory: fx.dir.path, variant: .cifar10, split: .train) }
        guard case .missing(let p, let hint) = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(p, fx.path("data_batch_2.bin"))
        XCTAssertTrue(hint.contains("cifar-10-binary.tar.gz"))
    }

    func testEmptyFileIsAnError() throws {
        try fx.writeRaw("test.bin", [])
        let e = expectDataError("empty") { _ = try CIFARReader.load(directory: fx.dir.path, variant: .cifar100, split: .test) }
        XCTAssertTrue("\(e!)".contains("empty file"))
    }
}
