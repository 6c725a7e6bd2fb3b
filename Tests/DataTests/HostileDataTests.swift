import Data
import Foundation
import XCTest

/// Crafted headers, cut-short JPEGs and a file where a folder belongs (issue 15): each is one clear `DataError`,
/// never a crash, an out-of-bounds read or a huge allocation.
final class HostileDataTests: XCTestCase {
    var fx: IDXFixtures!
    override func setUpWithError() throws { fx = try IDXFixtures() }
    override func tearDown() { fx?.remove() }

    /// A valid packed file of the 20 real CIFAR-10 records.
    func packedFile() throws -> [UInt8] {
        var pixels = [UInt8](), labels = [Int32]()
        try CIFARReader.read(path: try RealFixtures.path("test_batch_first20.bin"), variant: .cifar10, pixels: &pixels,
                             into: &labels)
        let d = ImageDataset(name: "cifar10", images: pixels, labels: labels, channels: 3, height: 32, width: 32,
                             numClasses: 10)
        let p = fx.path("good.bwpack")
        try PackedDataset.write(d, augmentation: .none, normalization: .cifar10, to: p, workers: 1, skipBadSamples: false)
        return try fx.contents(p)
    }

    func put(_ b: inout [UInt8], _ v: UInt64, at: Int, bytes: Int) {
        for k in 0..<bytes { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
    }

    /// Image sides of 2^31, a record count of 2^62, 0x7fffffff classes, offsets near 2^64: each header field is
    /// checked (overflow-checked, against the file size) before anything is allocated or read.
    func testCraftedPackedHeadersAreRejected() throws {
        let good = try packedFile()
        let cases: [(String, (inout [UInt8]) -> Void, String)] = [
            ("sides 2^31", { self.put(&$0, 1 << 31, at: 16, bytes: 4); self.put(&$0, 1 << 31, at: 20, bytes: 4) }, "image side"),
            ("count 2^62", { self.put(&$0, 1 << 62, at: 24, bytes: 8) }, "beyond the"),
            ("count 2^62, size consistent by overflow", {
                self.put(&$0, 1 << 62, at: 24, bytes: 8)
                self.put(&$0, UInt64(good.count), at: 56, bytes: 8)
            }, "beyond the"),
            ("classes 0x7fffffff", { self.put(&$0, 0x7fff_ffff, at: 32, bytes: 4) }, "classes must be in"),
            ("labels offset 2^64-8", { self.put(&$0, UInt64.max - 7, at: 40, bytes: 8) }, "beyond the"),
            ("channels 0", { self.put(&$0, 0, at: 12, bytes: 4) }, "0 channels"),
            ("count one more", {
                let n = $0[24..<32].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                self.put(&$0, n + 1, at: 24, bytes: 8)
            }, "do not fit the file"),
        ]
        for (label, mutate, problem) in cases {
            var b = good
            mutate(&b)
            let p = try fx.writeRaw("\(label).bwpack", b)
            let e = expectDataError(label) { _ = try PackedDataset.load(p) }
            XCTAssert("\(e.map { "\($0)" } ?? "")".contains(problem), "\(label): \(String(describing: e))")
            XCTAssert("\(e.map { "\($0)" } ?? "")".hasPrefix(p), "\(label): the error names the file")
        }
    }

    /// IDX images whose header claims 2^31 x 2^31 pixels (and no records, so the size check alone passes).
    func testIDXImageSidesBeyondTheLimitAreRejected() throws {
        let images = IDXFixtures.idx(dims: [0, 1 << 31 - 1, 1 << 31 - 1], data: [])
        let labels = IDXFixtures.idx(dims: [0], data: [])
        try fx.writeRaw("train-images-idx3-ubyte", images)
        try fx.writeRaw("train-labels-idx1-ubyte", labels)
        let e = expectDataError("huge sides") { _ = try MNISTFamily.load(directory: self.fx.dir.path, split: .train) }
        XCTAssert("\(e.map { "\($0)" } ?? "")".contains("image side"), String(describing: e))
    }

    /// A JPEG cut in half and closed with an end-of-image marker: libjpeg reports "premature end of data segment"
    /// and would fill the rest with grey; it is a bad sample (an error, or skipped and counted with
    /// `bad_samples: skip`).
    func testCutJPEGEndingInEOIIsABadSample() throws {
        let b = [UInt8](try Foundation.Data(contentsOf: URL(fileURLWithPath: try RealFixtures.path("jpeg/baseline_420.jpg"))))
        let cut = Array(b.prefix(b.count / 2)) + [0xFF, 0xD9]
        let e = expectDataError("cut + EOI") { try cut.withUnsafeBytes { _ = try JPEGDecoder().decode($0, path: "cut.jpg") } }
        guard case .badSample(let path, let reason) = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(path, "cut.jpg")
        XCTAssert(reason.lowercased().contains("premature end"), reason)
    }

    /// The same file in an image folder: `bad_samples: skip` leaves it out and counts it.
    func testCutJPEGIsSkippedAndCountedWithSkip() throws {
        let b = [UInt8](try Foundation.Data(contentsOf: URL(fileURLWithPath: try RealFixtures.path("jpeg/baseline_420.jpg"))))
        try FileManager.default.createDirectory(atPath: fx.path("root/a"), withIntermediateDirectories: true)
        try fx.writeRaw("root/a/good.jpg", b)
        try fx.writeRaw("root/a/cut.jpg", Array(b.prefix(b.count / 2)) + [0xFF, 0xD9])
        let src = ImageFolderDataset(name: "t", folder: try ImageFolder.scan(root: fx.path("root"), strict: true), dctScaling: true)
        let loader = try BatchLoader(source: src, augmentation: .resizeCenterCrop(resize: 16, crop: 16),
                                     normalization: .imagenet, batchSize: 2, workers: 0, seed: 0, skipBadSamples: true)
        loader.start(epoch: 0, indices: [0, 1])
        let batch = try XCTUnwrap(try loader.next())
        XCTAssertEqual(batch.count, 1)
        XCTAssertEqual(loader.skipped.count, 1)
        XCTAssert(loader.skipped.examples.first?.hasSuffix("cut.jpg") ?? false, "\(loader.skipped.examples)")
    }

    /// `data.path` naming a file: said so, not "not found".
    func testDataPathThatIsAFileSaysSo() throws {
        let p = try fx.writeRaw("plain-file", Array("x".utf8))
        for kind in [DataSpec.Kind.fashionMNIST, .cifar10, .imagefolder, .packed] {
            let e = expectDataError("\(kind)") { _ = try DatasetCatalog.load(DataSpec(kind: kind, path: p), split: .train) }
            let text = e.map { "\($0)" } ?? ""
            XCTAssert(text.contains("is a file, not a folder") && !text.contains("not found"), "\(kind): \(text)")
        }
    }
}
