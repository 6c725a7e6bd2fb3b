import Data
import Foundation
import TensorEngine
import XCTest

// MARK: - IDXReader

final class IDXReaderTests: XCTestCase {
    var fx: IDXFixtures!

    override func setUpWithError() throws { fx = try IDXFixtures() }
    override func tearDown() { fx?.remove() }

    func testReadsRawImageAndLabelFiles() throws {
        let pixels = IDXFixtures.pseudoRandomBytes(2 * 3 * 4)
        let imagePath = try fx.writeRaw("images-idx3-ubyte", IDXFixtures.idx(dims: [2, 3, 4], data: pixels))
        let labelPath = try fx.writeRaw("labels-idx1-ubyte", IDXFixtures.idx(dims: [2], data: [7, 0]))

        let images = try IDXReader.read(imagePath, expectedDims: 3)
        XCTAssertEqual(images.dims, [2, 3, 4])
        XCTAssertEqual(images.bytes, pixels)
        let labels = try IDXReader.read(labelPath, expectedDims: 1)
        XCTAssertEqual(labels.dims, [2])
        XCTAssertEqual(labels.bytes, [7, 0])
    }

    func testReadsGzippedImageAndLabelFiles() throws {
        // Large enough (and non-constant) that the body spans several zlib reads' worth of compressed input.
        let pixels = IDXFixtures.pseudoRandomBytes(5 * 28 * 28, seed: 99)
        let imagePath = try fx.writeGzip("images-idx3-ubyte.gz", IDXFixtures.idx(dims: [5, 28, 28], data: pixels))
        let labelPath = try fx.writeGzip("labels-idx1-ubyte.gz", IDXFixtures.idx(dims: [5], data: [9, 0, 3, 3, 1]))
        // The fixture really is gzip (magic 1f 8b), so this exercises inflation and not zlib's transparent mode.
        XCTAssertEqual(Array(try fx.contents(imagePath).prefix(2)), [0x1f, 0x8b])

        let images = try IDXReader.read(imagePath, expectedDims: 3)
        XCTAssertEqual(images.dims, [5, 28, 28])
        XCTAssertEqual(images.bytes.count, 5 * 28 * 28)
        XCTAssertEqual(images.bytes, pixels)
        let labels = try IDXReader.read(labelPath, expectedDims: 1)
        XCTAssertEqual(labels.dims, [5])
        XCTAssertEqual(labels.bytes, [9, 0, 3, 3, 1])
    }

    func testDimensionsAreBigEndianAndFullWidth() throws {
        // 300 = 0x012c needs two bytes; a little-endian or single-byte reader would get it wrong.
        let data = IDXFixtures.pseudoRandomBytes(300)
        let p = try fx.writeRaw("labels", IDXFixtures.idx(dims: [300], data: data))
        let a = try IDXReader.read(p, expectedDims: 1)
        XCTAssertEqual(a.dims, [300])
        XCTAssertEqual(a.bytes, data)
    }

    func testZeroRecordsGiveEmptyArray() throws {
        let p = try fx.writeGzip("empty.gz", IDXFixtures.idx(dims: [0, 28, 28], data: []))
        let a = try IDXReader.read(p, expectedDims: 3)
        XCTAssertEqual(a.dims, [0, 28, 28])
        XCTAssertEqual(a.bytes, [])
    }

    func testWrongMagicIsBadMagicNamingTheFile() throws {
        // A label file (magic 0x801) read where an image file (0x803) is expected.
        let p = try fx.writeRaw("train-labels-idx1-ubyte", IDXFixtures.idx(dims: [2], data: [1, 2]))
        let e = expectDataError("labels read as images") { _ = try IDXReader.read(p, expectedDims: 3) }
        guard case .badMagic(let path, let found, let expected)? = e else {
            return XCTFail("expected badMagic, got \(String(describing: e))")
        }
        XCTAssertEqual(path, p)
        XCTAssertEqual(found, 0x801)
        XCTAssertTrue(expected.contains("0x803"), expected)
        let text = e!.description
        XCTAssertTrue(text.contains(p), "description should name the file: \(text)")
        XCTAssertTrue(text.contains("0x801") && text.contains("0x803"), text)
    }

    func testNonByteElementTypeIsBadMagic() throws {
        // Type 0x0d (float32) with 1 dimension: magic 0x00000d01.
        let p = try fx.writeGzip("floats.gz", IDXFixtures.idx(dims: [1], data: [0, 0, 0x80, 0x3f], type: 0x0d))
        let e = expectDataError("float IDX") { _ = try IDXReader.read(p, expectedDims: 1) }
        XCTAssertEqual(e, .badMagic(path: p, found: 0x0d01, expected: "0x801 (unsigned bytes, 1 dimension)"))
    }

    func testTextFileIsBadMagic() throws {
        let p = try fx.writeRaw("notes.txt", Array("hello, this is not IDX\n".utf8))
        let e = expectDataError("text file") { _ = try IDXReader.read(p, expectedDims: 1) }
        guard case .badMagic(let path, let found, _)? = e else { return XCTFail("expected badMagic, got \(String(describing: e))") }
        XCTAssertEqual(path, p)
        XCTAssertEqual(found, 0x6865_6c6c)  // "hell"
    }

    func testTruncatedDataNamesPathAndByteCounts() throws {
        // Header promises 3·4·4 = 48 bytes; only 40 follow.
        let p = try fx.writeRaw("short-idx3", IDXFixtures.idx(dims: [3, 4, 4], data: IDXFixtures.pseudoRandomBytes(40)))
        let e = expectDataError("short data") { _ = try IDXReader.read(p, expectedDims: 3) }
        XCTAssertEqual(e, .truncated(path: p, expectedBytes: 48, gotBytes: 40))
        let text = e?.description ?? ""
        XCTAssertTrue(text.contains(p), text)
        XCTAssertTrue(text.contains("48") && text.contains("40"), text)
    }

    func testTruncatedDataInsideValidGzipStream() throws {
        // A complete gzip stream whose content is short: reported as truncation with counts, not as corruption.
        let p = try fx.writeGzip("short.gz", IDXFixtures.idx(dims: [10, 28, 28], data: IDXFixtures.pseudoRandomBytes(9 * 784)))
        let e = expectDataError("short gz content") { _ = try IDXReader.read(p, expectedDims: 3) }
        XCTAssertEqual(e, .truncated(path: p, expectedBytes: 10 * 784, gotBytes: 9 * 784))
    }

    func testTruncatedHeader() throws {
        // Two bytes: not even a magic number.
        let p1 = try fx.writeRaw("tiny", [0, 0])
        XCTAssertEqual(expectDataError("2-byte file") { _ = try IDXReader.read(p1, expectedDims: 1) },
                       .truncated(path: p1, expectedBytes: 4, gotBytes: 2))
        // Magic plus 6 of the 12 dimension bytes of a 3-D file.
        let p2 = try fx.writeRaw("half-header", Array(IDXFixtures.idx(dims: [1, 2, 3], data: []).prefix(10)))
        XCTAssertEqual(expectDataError("half header") { _ = try IDXReader.read(p2, expectedDims: 3) },
                       .truncated(path: p2, expectedBytes: 16, gotBytes: 10))
    }

    func testGzipStreamCutShortIsAnError() throws {
        let payload = IDXFixtures.idx(dims: [20, 28, 28], data: IDXFixtures.pseudoRandomBytes(20 * 784, seed: 7))
        let full = try fx.contents(try fx.writeGzip("full.gz", payload))
        XCTAssertGreaterThan(full.count, 1000)
        XCTAssertEqual(try IDXReader.read(fx.path("full.gz"), expectedDims: 3).bytes.count, 20 * 784)

        // Cut in the middle of the deflate body: zlib reports the early end (Z_BUF_ERROR), which must surface as a
        // corrupt stream rather than as a short read that looks like a lying header.
        let p = try fx.writeRaw("cut.gz", Array(full.prefix(full.count / 2)))
        let e = expectDataError("gzip cut in half") { _ = try IDXReader.read(p, expectedDims: 3) }
        guard case .unreadable(let path, let reason)? = e else {
            return XCTFail("expected unreadable (cut-short gzip), got \(String(describing: e))")
        }
        XCTAssertEqual(path, p)
        XCTAssertTrue(reason.contains("gzip"), reason)
        XCTAssertTrue(e!.description.contains(p), e!.description)
    }

    func testGzipStreamMissingItsTrailerIsAnError() throws {
        // All data decodes, but the 8-byte trailer (CRC-32, length) is cut to 4 bytes: the stream never ends.
        let payload = IDXFixtures.idx(dims: [4, 28, 28], data: IDXFixtures.pseudoRandomBytes(4 * 784, seed: 3))
        let full = try fx.contents(try fx.writeGzip("full.gz", payload))
        let p = try fx.writeRaw("no-trailer.gz", Array(full.dropLast(4)))
        let e = expectDataError("gzip without trailer") { _ = try IDXReader.read(p, expectedDims: 3) }
        guard case .unreadable(let path, let reason)? = e else {
            return XCTFail("expected unreadable (cut-short gzip), got \(String(describing: e))")
        }
        XCTAssertEqual(path, p)
        XCTAssertTrue(reason.contains("gzip"), reason)
    }

    func testCorruptGzipBodyIsAnError() throws {
        let payload = IDXFixtures.idx(dims: [20, 28, 28], data: IDXFixtures.pseudoRandomBytes(20 * 784, seed: 11))
        var bytes = try fx.contents(try fx.writeGzip("good.gz", payload))
        // Flip a run of bytes in the middle of the compressed body (well past the 10-byte gzip header).
        let mid = bytes.count / 2
        for i in mid..<(mid + 16) { bytes[i] ^= 0xa5 }
        let p = try fx.writeRaw("corrupt.gz", bytes)
        let e = expectDataError("corrupt gzip") { _ = try IDXReader.read(p, expectedDims: 3) }
        XCTAssertTrue(e?.description.contains(p) ?? false, String(describing: e))
    }

    func testCRCMismatchIsAnError() throws {
        // Body intact, stored CRC-32 wrong: zlib must reject it at the end of the stream.
        let payload = IDXFixtures.idx(dims: [2, 4, 4], data: IDXFixtures.pseudoRandomBytes(32))
        var bytes = try fx.contents(try fx.writeGzip("good.gz", payload))
        bytes[bytes.count - 8] ^= 0xff
        let p = try fx.writeRaw("badcrc.gz", bytes)
        let e = expectDataError("CRC mismatch") { _ = try IDXReader.read(p, expectedDims: 3) }
        guard case .unreadable(let path, _)? = e else { return XCTFail("expected unreadable, got \(String(describing: e))") }
        XCTAssertEqual(path, p)
    }

    func testExtraTrailingBytesAreAnError() throws {
        let good = IDXFixtures.idx(dims: [2, 2, 2], data: Array(1...8))
        let raw = try fx.writeRaw("extra", good + [0, 0, 0])
        guard case .inconsistent(let path, let reason)? = expectDataError("raw extra bytes", {
            _ = try IDXReader.read(raw, expectedDims: 3)
        }) else { return XCTFail("expected inconsistent") }
        XCTAssertEqual(path, raw)
        XCTAssertTrue(reason.contains("extra bytes"), reason)
        XCTAssertTrue(reason.contains("8"), "reason should give the promised count: \(reason)")

        let gz = try fx.writeGzip("extra.gz", good + [42])
        guard case .inconsistent(let gzPath, let gzReason)? = expectDataError("gz extra bytes", {
            _ = try IDXReader.read(gz, expectedDims: 3)
        }) else { return XCTFail("expected inconsistent") }
        XCTAssertEqual(gzPath, gz)
        XCTAssertTrue(gzReason.contains("extra bytes"), gzReason)
    }

    func testMissingFileIsMissing() throws {
        let p = fx.path("nope-idx1-ubyte.gz")
        guard case .missing(let path, _)? = expectDataError("missing", { _ = try IDXReader.read(p, expectedDims: 1) }) else {
            return XCTFail("expected missing")
        }
        XCTAssertEqual(path, p)
    }
}

// MARK: - MNISTFamily

final class MNISTFamilyTests: XCTestCase {
    var fx: IDXFixtures!

    override func setUpWithError() throws { fx = try IDXFixtures() }
    override func tearDown() { fx?.remove() }

    func testMissingDirectoryGivesInstallHint() throws {
        let dir = fx.path("no-such-folder")
        let e = expectDataError("missing dir") { _ = try MNISTFamily.load(directory: dir, split: .train) }
        guard case .missing(let path, let hint)? = e else { return XCTFail("expected missing, got \(String(describing: e))") }
        XCTAssertEqual(path, dir)
        XCTAssertTrue(hint.contains("apt-get install dataset-fashion-mnist"), hint)
        XCTAssertTrue(e!.description.contains("apt-get install dataset-fashion-mnist"), e!.description)
        XCTAssertTrue(e!.description.contains(dir), e!.description)
    }

    func testMissingDirectoryForOtherDatasetDoesNotSuggestFashionPackage() throws {
        let dir = fx.path("no-mnist")
        let e = expectDataError("missing mnist dir") { _ = try MNISTFamily.load(directory: dir, split: .test, name: "mnist") }
        guard case .missing(_, let hint)? = e else { return XCTFail("expected missing") }
        XCTAssertFalse(hint.contains("dataset-fashion-mnist"), hint)
        XCTAssertTrue(hint.contains("data.path"), hint)
    }

    func testAFileInsteadOfADirectoryIsMissing() throws {
        let p = try fx.writeRaw("a-file", [1, 2, 3])
        let e = expectDataError("file as dir") { _ = try MNISTFamily.load(directory: p, split: .train) }
        guard case .missing(let path, _)? = e else { return XCTFail("expected missing, got \(String(describing: e))") }
        XCTAssertEqual(path, p)
    }

    func testEmptyDirectoryNamesTheMissingFile() throws {
        let e = expectDataError("empty dir") { _ = try MNISTFamily.load(directory: fx.dir.path, split: .test) }
        guard case .missing(let path, let hint)? = e else { return XCTFail("expected missing, got \(String(describing: e))") }
        XCTAssertEqual(path, fx.dir.path + "/t10k-images-idx3-ubyte.gz")
        XCTAssertTrue(hint.contains("apt-get install dataset-fashion-mnist"), hint)
    }

    func testLoadsGzippedTrainAndRawTestSplits() throws {
        let trainPixels = IDXFixtures.pseudoRandomBytes(4 * 3 * 2, seed: 1)
        try fx.writeSplit(prefix: "train", images: trainPixels, count: 4, height: 3, width: 2, labels: [9, 0, 0, 3])
        let testPixels = IDXFixtures.pseudoRandomBytes(2 * 3 * 2, seed: 2)
        try fx.writeSplit(prefix: "t10k", images: testPixels, count: 2, height: 3, width: 2, labels: [1, 9], gzip: false)

        let train = try MNISTFamily.load(directory: fx.dir.path, split: .train)
        XCTAssertEqual(train.name, "fashion-mnist")
        XCTAssertEqual(train.count, 4)
        XCTAssertEqual([train.channels, train.height, train.width], [1, 3, 2])
        XCTAssertEqual(train.sampleShape, [1, 3, 2])
        XCTAssertEqual(train.sampleSize, 6)
        XCTAssertEqual(train.numClasses, 10)
        XCTAssertEqual(Array(train.pixels.buffer), trainPixels)
        XCTAssertEqual(train.labels, [9, 0, 0, 3])
        XCTAssertEqual(train.classHistogram, [2, 0, 0, 1, 0, 0, 0, 0, 0, 1])

        let test = try MNISTFamily.load(directory: fx.dir.path, split: .test, name: "mnist")
        XCTAssertEqual(test.name, "mnist")
        XCTAssertEqual(test.count, 2)
        XCTAssertEqual(Array(test.pixels.buffer), testPixels)
        XCTAssertEqual(test.labels, [1, 9])
    }

    func testGzipIsPreferredOverRawWhenBothExist() throws {
        try fx.writeSplit(prefix: "train", images: [10, 20], count: 2, height: 1, width: 1, labels: [1, 2])
        try fx.writeSplit(prefix: "train", images: [30, 40], count: 2, height: 1, width: 1, labels: [3, 4], gzip: false)
        let d = try MNISTFamily.load(directory: fx.dir.path, split: .train)
        XCTAssertEqual(Array(d.pixels.buffer), [10, 20])
        XCTAssertEqual(d.labels, [1, 2])
    }

    func testLabelAndImageCountMismatchIsAnError() throws {
        try fx.writeSplit(prefix: "train", images: IDXFixtures.pseudoRandomBytes(4 * 4), count: 4, height: 2, width: 2,
                          labels: [1, 2, 3])
        let e = expectDataError("3 labels, 4 images") { _ = try MNISTFamily.load(directory: fx.dir.path, split: .train) }
        guard case .inconsistent(let path, let reason)? = e else {
            return XCTFail("expected inconsistent, got \(String(describing: e))")
        }
        XCTAssertEqual(path, fx.path("train-labels-idx1-ubyte.gz"))
        XCTAssertTrue(reason.contains("3 labels for 4 images"), reason)
    }

    func testLabelOutOfRangeNamesTheRecord() throws {
        try fx.writeSplit(prefix: "train", images: IDXFixtures.pseudoRandomBytes(5), count: 5, height: 1, width: 1,
                          labels: [0, 9, 4, 10, 255])
        let e = expectDataError("label 10") { _ = try MNISTFamily.load(directory: fx.dir.path, split: .train) }
        guard case .inconsistent(let path, let reason)? = e else {
            return XCTFail("expected inconsistent, got \(String(describing: e))")
        }
        XCTAssertEqual(path, fx.path("train-labels-idx1-ubyte.gz"))
        // The first bad record is #3 (label 10); label 9 at #1 is fine.
        XCTAssertTrue(reason.contains("label 10") && reason.contains("record 3"), reason)
    }

    func testBadFileInsideAFolderIsReportedWithItsPath() throws {
        // Image file intact, label file truncated: the error names the label file, not the folder.
        try fx.writeRaw("train-images-idx3-ubyte", IDXFixtures.idx(dims: [3, 1, 1], data: [1, 2, 3]))
        let labelPath = try fx.writeRaw("train-labels-idx1-ubyte", IDXFixtures.idx(dims: [3], data: [1]))
        let e = expectDataError("short labels") { _ = try MNISTFamily.load(directory: fx.dir.path, split: .train) }
        XCTAssertEqual(e, .truncated(path: labelPath, expectedBytes: 3, gotBytes: 1))
    }
}

// MARK: - ImageDataset, Normalization, BatchLoader (no augmentation)

final class NormalizationAndBatchTests: XCTestCase {
    /// Two samples, two channels, 1x2 planes. Channel 0 holds 0, 255 | 51, 102; channel 1 is constant 51.
    func tinyDataset() -> ImageDataset {
        ImageDataset(name: "tiny", images: [0, 255, 51, 51, /* sample 1 */ 51, 102, 51, 51], labels: [4, 7],
                     channels: 2, height: 1, width: 2, numClasses: 10)
    }

    func testImageDatasetPrefixAndHistogram() {
        let d = ImageDataset(name: "h", images: [1, 2, 3, 4], labels: [2, 2, 0, 1], channels: 1, height: 1, width: 1,
                             numClasses: 3)
        XCTAssertEqual(d.classHistogram, [1, 1, 2])
        let p = d.prefix(3)
        XCTAssertEqual(p.count, 3)
        XCTAssertEqual(Array(p.pixels.buffer), [1, 2, 3])
        XCTAssertEqual(p.labels, [2, 2, 0])
        XCTAssertEqual(p.classHistogram, [1, 0, 2])
        XCTAssertEqual(d.prefix(100).count, 4, "prefix past the end keeps everything")
    }

    func testFitEqualsHandComputedMeanAndStd() {
        let n = Normalization.fit(tinyDataset())
        // Channel 0 in [0, 1]: 0, 1, 0.2, 0.4 → mean 0.4, E[x²] = (0 + 1 + 0.04 + 0.16)/4 = 0.3, var = 0.14.
        XCTAssertEqual(n.mean.count, 2)
        XCTAssertEqual(n.mean[0], 0.4, accuracy: 1e-6)
        XCTAssertEqual(n.std[0], Float(0.14.squareRoot()), accuracy: 1e-6)
        // Channel 1: constant 0.2 → std clamped at sqrt(1e-12) = 1e-6 instead of 0 (which would divide by zero).
        XCTAssertEqual(n.mean[1], 0.2, accuracy: 1e-6)
        XCTAssertEqual(n.std[1], 1e-6, accuracy: 1e-9)
    }

    func testFitSingleChannelMatchesDirectComputation() {
        let pixels = IDXFixtures.pseudoRandomBytes(3 * 5 * 4, seed: 5)
        let d = ImageDataset(name: "r", images: pixels, labels: [0, 1, 2], channels: 1, height: 5, width: 4, numClasses: 3)
        let xs = pixels.map { Double($0) / 255 }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let std = (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)).squareRoot()
        let n = Normalization.fit(d)
        XCTAssertEqual(Double(n.mean[0]), mean, accuracy: 1e-6)
        XCTAssertEqual(Double(n.std[0]), std, accuracy: 1e-6)
    }

    func testLoaderNormalizesAndFollowsIndexOrder() throws {
        let d = ImageDataset(name: "b", images: [0, 255, 51, 51, /* 1 */ 51, 102, 0, 255, /* 2 */ 10, 20, 30, 40],
                             labels: [4, 7, 1], channels: 2, height: 1, width: 2, numClasses: 10)
        let norm = Normalization(mean: [0.5, 0.25], std: [0.25, 2])
        let a = try BatchLoader(source: d, augmentation: .none, normalization: norm, batchSize: 3, workers: 1,
                                seed: 0, skipBadSamples: false)
        let order = [2, 0, 2, 1]
        a.start(epoch: 0, indices: order)
        let b = try XCTUnwrap(try a.next())
        let x = b.x
        XCTAssertEqual(x.shape, [3, 2, 1, 2])
        XCTAssertEqual(Array(UnsafeBufferPointer(start: b.labels, count: 3)), [1, 4, 1], "labels in index order")
        func expected(_ i: Int) -> [Float] {
            (0..<4).map { k in
                let c = k / 2
                return (Float(d.pixels.base[i * 4 + k]) / 255 - norm.mean[c]) / norm.std[c]
            }
        }
        let got = Array(UnsafeBufferPointer(start: x.data, count: x.count))
        let want = order.prefix(3).flatMap(expected)
        XCTAssertEqual(got.count, want.count)
        for (g, w) in zip(got, want) { XCTAssertEqual(g, w, accuracy: 1e-5) }
        // Spot values by hand: sample 2 channel 0 pixel 0 is 10 → (10/255 − 0.5)/0.25; sample 0 ch 1 is 51 → (0.2 − 0.25)/2.
        XCTAssertEqual(got[0], (10 / 255 - 0.5) / 0.25, accuracy: 1e-5)
        XCTAssertEqual(got[4 + 2], (0.2 - 0.25) / 2, accuracy: 1e-6)
        XCTAssertEqual(got[4 + 1], (1 - 0.5) / 0.25, accuracy: 1e-5)

        // The last, partial batch holds the remaining index.
        let last = try XCTUnwrap(try a.next())
        XCTAssertEqual(last.x.shape, [1, 2, 1, 2])
        XCTAssertEqual(last.labels[0], 7)
        let one = Array(UnsafeBufferPointer(start: last.x.data, count: last.x.count))
        for (g, w) in zip(one, expected(1)) { XCTAssertEqual(g, w, accuracy: 1e-5) }
        XCTAssertNil(try a.next(), "the epoch ends after ceil(4 / 3) batches")
    }

    func testLoaderWithFittedNormalizationHasZeroMeanUnitStd() throws {
        let pixels = IDXFixtures.pseudoRandomBytes(6 * 3 * 3, seed: 8)
        let d = ImageDataset(name: "z", images: pixels, labels: [0, 1, 2, 3, 4, 5], channels: 1, height: 3, width: 3,
                             numClasses: 6)
        let a = try BatchLoader(source: d, augmentation: .none, normalization: .fit(d), batchSize: 6, workers: 0,
                                seed: 0, skipBadSamples: false)
        a.start(epoch: 0, indices: Array(0..<6))
        let b = try XCTUnwrap(try a.next())
        let x = b.x, labels = b.labels
        let v = Array(UnsafeBufferPointer(start: x.data, count: x.count)).map(Double.init)
        let mean = v.reduce(0, +) / Double(v.count)
        let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)
        XCTAssertEqual(mean, 0, accuracy: 1e-5)
        XCTAssertEqual(variance, 1, accuracy: 1e-4)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: labels, count: 6)), [0, 1, 2, 3, 4, 5])
    }
}

// MARK: - Real Fashion-MNIST (Debian package dataset-fashion-mnist)

final class FashionMNISTRealDataTests: XCTestCase {
    let dir = MNISTFamily.fashionDefaultPath

    func requireDataset() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: dir + "/train-images-idx3-ubyte.gz"),
                          "Fashion-MNIST not installed in \(dir): apt-get install dataset-fashion-mnist")
    }

    // Facts below were checked independently with python3's gzip module on the same files:
    // train labels start 9 0 0 3 0 2 7 2 5 5, test labels start 9 2 1 1 6 1 4 6 5 7; the first train image's bytes sum
    // to 76247 (433 non-zero), the first test image's to 33456; test-split pixel mean 0.286849, std 0.352444.

    func testTrainSplit() throws {
        try requireDataset()
        let d = try MNISTFamily.load(directory: dir, split: .train)
        XCTAssertEqual(d.count, 60_000)
        XCTAssertEqual(d.sampleShape, [1, 28, 28])
        XCTAssertEqual(d.pixels.count, 60_000 * 784)
        XCTAssertEqual(d.numClasses, 10)
        XCTAssertEqual(d.classHistogram, [Int](repeating: 6_000, count: 10))
        XCTAssertEqual(Array(d.labels.prefix(10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
        let first = Array(d.pixels.buffer[0..<784])
        XCTAssertEqual(first.reduce(0) { $0 + Int($1) }, 76_247)
        XCTAssertEqual(first.filter { $0 != 0 }.count, 433)
        XCTAssertEqual(first.max(), 255)
    }

    func testTestSplit() throws {
        try requireDataset()
        let d = try MNISTFamily.load(directory: dir, split: .test)
        XCTAssertEqual(d.count, 10_000)
        XCTAssertEqual(d.sampleShape, [1, 28, 28])
        XCTAssertEqual(d.classHistogram, [Int](repeating: 1_000, count: 10))
        XCTAssertEqual(Array(d.labels.prefix(10)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
        XCTAssertEqual(d.pixels.buffer[0..<784].reduce(0) { $0 + Int($1) }, 33_456)
        let n = Normalization.fit(d)
        XCTAssertEqual(n.mean[0], 0.286849, accuracy: 1e-5)
        XCTAssertEqual(n.std[0], 0.352444, accuracy: 1e-5)
    }
}
