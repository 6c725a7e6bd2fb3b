import Data
import Foundation
import XCTest

final class ImageFolderTests: XCTestCase {
    var fx: IDXFixtures!
    override func setUpWithError() throws { fx = try IDXFixtures() }
    override func tearDown() { fx?.remove() }

    func jpegBytes() throws -> [UInt8] {
        [UInt8](try Foundation.Data(contentsOf: URL(fileURLWithPath: try RealFixtures.path("jpeg/baseline_420.jpg"))))
    }

    func mkdir(_ p: String) throws { try FileManager.default.createDirectory(atPath: fx.path(p), withIntermediateDirectories: true) }

    func testRealImageNetFolderClassesInTorchvisionOrder() throws {
        let f = try ImageFolder.scan(root: try RealFixtures.path("imagenet20"), strict: true)
        // torchvision sorts class folder names as strings: "129" < "22" < "243" < … < "99".
        XCTAssertEqual(f.classNames, ["129", "22", "243", "251", "305", "317", "438", "455", "471", "541", "559", "609",
                                      "630", "741", "853", "915", "949", "99", "990"])
        XCTAssertEqual(f.count, 20)
        XCTAssertEqual(f.relativePath(0), "129/imagenet_14_129.jpg")
        // Labels are class positions and files follow the class order.
        for i in 0..<f.count {
            XCTAssertEqual(f.classNames[Int(f.labels[i])], String(f.relativePath(i).split(separator: "/")[0]))
        }
        XCTAssertEqual(f.labels, f.labels.sorted())
    }

    func testFilesSortedByBytesAndExtensionsCaseInsensitive() throws {
        let jpg = try jpegBytes()
        try mkdir("root/b"); try mkdir("root/a"); try mkdir("root/B")
        for name in ["root/a/z.jpg", "root/a/Z.JPEG", "root/a/m.Jpg", "root/b/1.jpeg", "root/B/x.jpg"] {
            try fx.writeRaw(name, jpg)
        }
        let f = try ImageFolder.scan(root: fx.path("root"), strict: true)
        XCTAssertEqual(f.classNames, ["B", "a", "b"], "byte order: upper case first, as Python sorts")
        XCTAssertEqual((0..<f.count).map(f.relativePath), ["B/x.jpg", "a/Z.JPEG", "a/m.Jpg", "a/z.jpg", "b/1.jpeg"])
        XCTAssertEqual(f.labels, [0, 1, 1, 1, 2])
    }

    func testNonImageFileIsAnErrorOrACountedSkip() throws {
        try mkdir("root/cat"); try mkdir("root/dog")
        try fx.writeRaw("root/cat/a.jpg", try jpegBytes())
        try fx.writeRaw("root/dog/b.jpg", try jpegBytes())
        try fx.writeRaw("root/dog/notes.txt", Array("x".utf8))
        try fx.writeRaw("root/dog/.DS_Store", [0])
        let e = expectDataError("strict") { _ = try ImageFolder.scan(root: fx.path("root"), strict: true) }
        guard case .badSample(let p, let reason) = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(p, fx.path("root/dog/notes.txt"))
        XCTAssertTrue(reason.contains("data.bad_samples: skip"))
        let f = try ImageFolder.scan(root: fx.path("root"), strict: false)
        XCTAssertEqual(f.count, 2)
        XCTAssertEqual(f.skippedCount, 1, "hidden files are ignored, the .txt is counted")
        XCTAssertEqual(f.skippedExamples, ["dog/notes.txt"])
    }

    func testEmptyClassFolderIsAnErrorOrKeepsItsLabel() throws {
        try mkdir("root/a"); try mkdir("root/b"); try mkdir("root/c")
        try fx.writeRaw("root/a/1.jpg", try jpegBytes())
        try fx.writeRaw("root/c/1.jpg", try jpegBytes())
        let e = expectDataError("empty b") { _ = try ImageFolder.scan(root: fx.path("root"), strict: true) }
        guard case .inconsistent(let p, let reason) = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(p, fx.path("root/b"))
        XCTAssertTrue(reason.contains("no JPEG images"))
        let f = try ImageFolder.scan(root: fx.path("root"), strict: false)
        XCTAssertEqual(f.emptyClasses, ["b"])
        XCTAssertEqual(f.labels, [0, 2], "c keeps label 2: labels follow the class folders, empty or not")
    }

    func testMissingRootAndRootWithoutClasses() throws {
        let e = expectDataError("missing") { _ = try ImageFolder.scan(root: fx.path("nowhere"), strict: true, hint: "put it there") }
        XCTAssertEqual(e, .missing(path: fx.path("nowhere"), hint: "put it there"))
        try mkdir("flat")
        try fx.writeRaw("flat/1.jpg", try jpegBytes())
        let e2 = expectDataError("no classes") { _ = try ImageFolder.scan(root: fx.path("flat"), strict: true) }
        XCTAssertTrue("\(e2!)".contains("no class folders"))
    }

    func testCatalogFindsTrainAndValAndSaysWhatIsMissing() throws {
        try mkdir("in/train/x"); try fx.writeRaw("in/train/x/1.jpg", try jpegBytes())
        let spec = DataSpec(kind: .imagenet, path: fx.path("in"))
        XCTAssertEqual(try DatasetCatalog.load(spec, split: .train).source.count, 1)
        let e = expectDataError("no val") { _ = try DatasetCatalog.load(spec, split: .test) }
        guard case .missing(let p, let hint) = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(p, fx.path("in/val"))
        XCTAssertTrue(hint.contains("train/ and val/"))
    }

    func testUnreadableSampleNamesTheFileAndSkipPolicyDropsIt() throws {
        try mkdir("root/a")
        try fx.writeRaw("root/a/1.jpg", try jpegBytes())
        try fx.writeRaw("root/a/2.jpg", Array("not a jpeg".utf8))
        try fx.writeRaw("root/a/3.jpg", try jpegBytes())
        let folder = try ImageFolder.scan(root: fx.path("root"), strict: true)
        let d = ImageFolderDataset(name: "t", folder: folder, dctScaling: true)
        let strict = try BatchLoader(source: d, augmentation: .imagenetEval(size: 32), normalization: .imagenet,
                                     batchSize: 3, workers: 1, seed: 0, skipBadSamples: false)
        strict.start(epoch: 0, indices: [0, 1, 2])
        let e = expectDataError("bad sample") { _ = try strict.next() }
        guard case .badSample(let p, _) = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(p, fx.path("root/a/2.jpg"))

        let lenient = try BatchLoader(source: d, augmentation: .imagenetEval(size: 32), normalization: .imagenet,
                                      batchSize: 3, workers: 1, seed: 0, skipBadSamples: true)
        lenient.start(epoch: 0, indices: [0, 1, 2])
        let b = try XCTUnwrap(try lenient.next())
        XCTAssertEqual(b.count, 2, "the unreadable sample is left out of its batch")
        XCTAssertEqual(lenient.skipped.count, 1)
        XCTAssertEqual(lenient.skipped.examples, [fx.path("root/a/2.jpg")])
    }
}
