import Data
import Foundation
import TensorEngine
import XCTest

final class PackedDatasetTests: XCTestCase {
    var fx: IDXFixtures!
    override func setUpWithError() throws { fx = try IDXFixtures() }
    override func tearDown() { fx?.remove() }

    func cifar() throws -> ImageDataset {
        var pixels = [UInt8](), labels = [Int32]()
        try CIFARReader.read(path: try RealFixtures.path("test_batch_first20.bin"), variant: .cifar10, pixels: &pixels,
                             into: &labels)
        return ImageDataset(name: "cifar10", images: pixels, labels: labels, channels: 3, height: 32, width: 32,
                            numClasses: 10)
    }

    func testRoundTripOfRealCIFARRecords() throws {
        let d = try cifar()
        let p = fx.path("test.bwpack")
        let r = try PackedDataset.write(d, augmentation: .none, normalization: .cifar10, to: p, workers: 2, skipBadSamples: false)
        XCTAssertEqual(r.written, 20)
        let (back, norm) = try PackedDataset.load(p)
        XCTAssertEqual(back.labels, d.labels)
        XCTAssertEqual(back.sampleShape, [3, 32, 32])
        XCTAssertEqual(Array(back.pixels.buffer), Array(d.pixels.buffer))
        XCTAssertEqual(norm, .cifar10)
        XCTAssertFalse(FileManager.default.fileExists(atPath: p + ".tmp-\(getpid())"), "no temporary file left")
    }

    /// Packing an image folder stores each image resized and center-cropped, exactly as the loader renders it.
    func testPackedImageFolderEqualsRenderedSamples() throws {
        let folder = try ImageFolder.scan(root: try RealFixtures.path("imagenet20"), strict: true)
        let src = ImageFolderDataset(name: "imagenet20", folder: folder, dctScaling: true)
        let aug = Augmentation.resizeCenterCrop(resize: 40, crop: 40)
        let p = fx.path("train.bwpack")
        try PackedDataset.write(src, augmentation: aug, normalization: .imagenet, to: p, workers: 2, skipBadSamples: false)
        let (d, _) = try PackedDataset.load(p)
        XCTAssertEqual(d.count, 20)
        XCTAssertEqual(d.classNames, folder.classNames)
        var want = [UInt8](repeating: 0, count: 3 * 40 * 40)
        for i in [0, 7, 19] {
            var rng = RNG(seed: 0)
            try src.render(i, augmentation: aug, rng: &rng, into: &want, scratch: RenderScratch())
            XCTAssertEqual(Array(UnsafeBufferPointer(start: d.sample(i), count: want.count)), want)
            XCTAssertEqual(d.labels[i], folder.labels[i])
        }
    }

    func testWrongMagicTruncationAndBadLabels() throws {
        let d = try cifar()
        let p = fx.path("x.bwpack")
        try PackedDataset.write(d, augmentation: .none, normalization: .cifar10, to: p, workers: 1, skipBadSamples: false)
        let good = [UInt8](try Foundation.Data(contentsOf: URL(fileURLWithPath: p)))

        var wrong = good; wrong[0] = UInt8(ascii: "X")
        try fx.writeRaw("wrong.bwpack", wrong)
        XCTAssertTrue("\(expectDataError("magic") { _ = try PackedDataset.load(fx.path("wrong.bwpack")) }!)".contains("BWMAPACK"))

        try fx.writeRaw("cut.bwpack", Array(good.prefix(good.count - 100)))
        let e = expectDataError("cut") { _ = try PackedDataset.load(fx.path("cut.bwpack")) }
        XCTAssertEqual(e, .truncated(path: fx.path("cut.bwpack"), expectedBytes: good.count, gotBytes: good.count - 100))

        // Label of record 3 set to 77 (the label table starts at the offset stored at byte 40).
        var bad = good
        let labelsAt = Int(good[40]) | Int(good[41]) << 8
        bad[labelsAt + 12] = 77
        try fx.writeRaw("bad.bwpack", bad)
        XCTAssertTrue("\(expectDataError("label") { _ = try PackedDataset.load(fx.path("bad.bwpack")) }!)".contains("record 3: label 77"))

        try fx.writeRaw("tiny.bwpack", Array(good.prefix(10)))
        XCTAssertEqual(expectDataError("header") { _ = try PackedDataset.load(fx.path("tiny.bwpack")) },
                       .truncated(path: fx.path("tiny.bwpack"), expectedBytes: 64, gotBytes: 10))
    }

    func testFailedPackLeavesExistingFileIntact() throws {
        let p = try fx.writeRaw("keep.bwpack", Array("precious".utf8))
        try FileManager.default.createDirectory(atPath: fx.path("root/a"), withIntermediateDirectories: true)
        try fx.writeRaw("root/a/1.jpg", Array("not a jpeg".utf8))
        let src = ImageFolderDataset(name: "t", folder: try ImageFolder.scan(root: fx.path("root"), strict: true), dctScaling: true)
        _ = expectDataError("bad image") {
            try PackedDataset.write(src, augmentation: .resizeCenterCrop(resize: 8, crop: 8), normalization: .imagenet,
                                    to: p, workers: 1, skipBadSamples: false)
        }
        XCTAssertEqual(try String(contentsOfFile: p, encoding: .utf8), "precious")
        let left = try FileManager.default.contentsOfDirectory(atPath: fx.dir.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(left, [])
    }
}
