import Data
import Foundation
import TensorEngine
import XCTest

/// Decoding and resizing real JPEGs, checked against Pillow (Fixtures/make_jpeg_reference.py).
final class JPEGDecoderTests: XCTestCase {
    var fx: IDXFixtures!
    override func setUpWithError() throws { fx = try IDXFixtures() }
    override func tearDown() { fx?.remove() }

    func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Foundation.Data(contentsOf: URL(fileURLWithPath: try RealFixtures.path(relative))))
    }

    /// Interleaved RGB view → planar bytes.
    func planar(_ v: ImageView) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 3 * v.width * v.height)
        for c in 0..<3 { for y in 0..<v.height { for x in 0..<v.width { out[(c * v.height + y) * v.width + x] = v.pixel(c, y, x) } } }
        return out
    }

    /// All 20 real ImageNet photos (progressive) and the crafted greyscale, CMYK and baseline files decode to
    /// Pillow's pixels.
    func testDecodesLikePillow() throws {
        let ref = try RealFixtures.reference()
        XCTAssertEqual(ref.decode.count, 24)
        let decoder = JPEGDecoder()
        for (file, want) in ref.decode.sorted(by: { $0.key < $1.key }) {
            let b = try bytes(file)
            try b.withUnsafeBytes { raw in
                let (view, header) = try decoder.decode(raw, path: file)
                if file.hasPrefix("imagenet20") { XCTAssertTrue(header.progressive, file) }
                if file.hasSuffix("grey.jpg") { XCTAssertEqual(header.components, 1) }
                if file.hasSuffix("cmyk.jpg") { XCTAssertEqual(header.components, 4) }
                let p = planar(view)
                want.check(p, width: view.width, height: view.height, file)
            }
        }
    }

    /// A region decode (libjpeg-turbo's crop + skip) gives exactly the pixels of the full decode.
    func testRegionDecodeEqualsFullDecode() throws {
        let decoder = JPEGDecoder()
        for file in ["jpeg/baseline_420.jpg", "jpeg/baseline_444.jpg", "imagenet20/243/imagenet_00_243.jpg", "jpeg/cmyk.jpg", "jpeg/grey.jpg"] {
            let b = try bytes(file)
            try b.withUnsafeBytes { raw in
                let (fullView, header) = try decoder.decode(raw, path: file)
                let full = planar(fullView)
                for box in [CropBox(x: 37, y: 21, width: 101, height: 77), CropBox(x: 0, y: 100, width: 64, height: 3),
                            CropBox(x: header.width - 50, y: header.height - 40, width: 50, height: 40)] {
                    let (view, region) = try decoder.decode(raw, path: file, box: box)
                    XCTAssertLessThanOrEqual(region.x, box.x)
                    XCTAssertGreaterThanOrEqual(region.x + region.width, box.x + box.width)
                    XCTAssertEqual(region.y, box.y)
                    for c in 0..<3 {
                        for y in 0..<box.height {
                            for x in 0..<box.width {
                                let want = full[(c * header.height + box.y + y) * header.width + box.x + x]
                                let got = view.pixel(c, y, box.x - region.x + x)
                                if got != want {
                                    return XCTFail("\(file) \(box): pixel (\(box.x + x), \(box.y + y)) channel \(c): \(got) vs \(want)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// torchvision's RandomResizedCrop for a given box (crop, then BILINEAR resize to 224) and its evaluation
    /// transform (Resize(256), CenterCrop(224)) equal Pillow's bytes.
    func testCropResizeAndCenterCropEqualPillow() throws {
        let ref = try RealFixtures.reference()
        let scratch = Resampler.Scratch()
        let decoder = JPEGDecoder()
        var out = [UInt8](repeating: 0, count: 3 * 224 * 224)
        for r in ref.rrc {
            let b = try bytes(r.file!)
            let box = r.box!
            try b.withUnsafeBytes { raw in
                let (view, _) = try decoder.decode(raw, path: r.file!)
                let plan = SamplePlan(clip: CropBox(x: box[0], y: box[1], width: box[2], height: box[3]),
                                      columns: .resize(box[2], to: 224), rows: .resize(box[3], to: 224), flip: false)
                Resampler.resample(view, originX: box[0], originY: box[1],
                                   columns: Resampler.coefficients(plan.columns),
                                   rows: Resampler.coefficients(plan.rows), into: &out, scratch: scratch)
                r.check(out, width: 224, height: 224, "RandomResizedCrop \(r.file!) \(box)")
            }
        }
        for e in ref.eval {
            let b = try bytes(e.file!)
            try b.withUnsafeBytes { raw in
                let h = try JPEGDecoder.header(raw, path: e.file!)
                var rng = RNG(seed: 0)
                let plan = try XCTUnwrap(SamplePlan.draw(.imagenetEval(size: 224), width: h.width, height: h.height, rng: &rng))
                let (view, _) = try decoder.decode(raw, path: e.file!)
                plan.renderForTest(view, into: &out, scratch: scratch)
                e.check(out, width: 224, height: 224, "Resize(256) + CenterCrop(224) \(e.file!)")
            }
        }
    }

    /// The whole sample path of an image folder (header, plan, region decode, resample) gives the same bytes as
    /// decoding everything and resampling, when DCT scaling is off.
    func testImageFolderRenderEqualsFullDecodePath() throws {
        let folder = try ImageFolder.scan(root: try RealFixtures.path("imagenet20"), strict: true)
        let d = ImageFolderDataset(name: "t", folder: folder, dctScaling: false)
        let scratch = RenderScratch(), decoder = JPEGDecoder(), rs = Resampler.Scratch()
        var got = [UInt8](repeating: 0, count: 3 * 96 * 96), want = got
        for i in 0..<folder.count {
            let aug = Augmentation.randomResizedCrop(size: 96, scale: 0.08...1, ratio: 0.75...(4.0 / 3), flip: true)
            var rng = BatchLoader.sampleRNG(seed: 5, epoch: 1, index: i)
            try d.render(i, augmentation: aug, rng: &rng, into: &got, scratch: scratch)
            var rng2 = BatchLoader.sampleRNG(seed: 5, epoch: 1, index: i)
            let b = try [UInt8](Foundation.Data(contentsOf: URL(fileURLWithPath: folder.path(i))))
            try b.withUnsafeBytes { raw in
                let (view, h) = try decoder.decode(raw, path: "")
                let plan = try XCTUnwrap(SamplePlan.draw(aug, width: h.width, height: h.height, rng: &rng2))
                plan.renderForTest(view, into: &want, scratch: rs)
            }
            if let k = got.indices.first(where: { got[$0] != want[$0] }) {
                var r3 = BatchLoader.sampleRNG(seed: 5, epoch: 1, index: i)
                let b2 = try [UInt8](Foundation.Data(contentsOf: URL(fileURLWithPath: folder.path(i))))
                let plan = try b2.withUnsafeBytes { try SamplePlan.draw(aug, width: JPEGDecoder.header($0, path: "").width, height: JPEGDecoder.header($0, path: "").height, rng: &r3)! }
                XCTFail("\(folder.relativePath(i)): first difference at channel \(k / 9216), row \(k % 9216 / 96), column \(k % 96); \(plan)")
            }
        }
    }

    /// With DCT scaling the decode is smaller but the result stays close to the exact path.
    func testDCTScalingStaysCloseToExactPath() throws {
        let folder = try ImageFolder.scan(root: try RealFixtures.path("imagenet20"), strict: true)
        let fast = ImageFolderDataset(name: "t", folder: folder, dctScaling: true)
        let exact = ImageFolderDataset(name: "t", folder: folder, dctScaling: false)
        let scratch = RenderScratch()
        var a = [UInt8](repeating: 0, count: 3 * 64 * 64), b = a
        var scaled = 0
        for i in 0..<folder.count {
            let aug = Augmentation.resizeCenterCrop(resize: 64, crop: 64)  // 512 → 64: decoded at 1/4, then halved
            var r1 = RNG(seed: 0), r2 = RNG(seed: 0)
            try fast.render(i, augmentation: aug, rng: &r1, into: &a, scratch: scratch)
            try exact.render(i, augmentation: aug, rng: &r2, into: &b, scratch: scratch)
            let mad = zip(a, b).map { abs(Int($0) - Int($1)) }.reduce(0, +)
            XCTAssertLessThan(Double(mad) / Double(a.count), 2.0, folder.relativePath(i))
            if a != b { scaled += 1 }
        }
        XCTAssertGreaterThan(scaled, 0, "the scaled path was never taken")
    }

    // MARK: - Bad files

    func testTruncatedJPEGIsAnErrorNamingTheFile() throws {
        let b = try bytes("jpeg/baseline_420.jpg")
        let p = try fx.writeRaw("cut.jpg", Array(b.prefix(b.count / 2)))
        let cut = try [UInt8](Foundation.Data(contentsOf: URL(fileURLWithPath: p)))
        let e = expectDataError("half a JPEG") { try cut.withUnsafeBytes { _ = try JPEGDecoder().decode($0, path: p) } }
        guard case .badSample(let path, let reason) = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(path, p)
        XCTAssertTrue(reason.contains("Premature end"), reason)
    }

    func testTruncatedProgressiveJPEGIsAnError() throws {
        let b = try bytes("imagenet20/243/imagenet_00_243.jpg")
        let cut = Array(b.prefix(b.count * 3 / 4))
        let e = expectDataError("3/4 of a progressive JPEG") { try cut.withUnsafeBytes { _ = try JPEGDecoder().decode($0, path: "p.jpg") } }
        XCTAssertNotNil(e)
    }

    func testNonJPEGBytesAreAnError() throws {
        for (what, content) in [("text", Array("hello, not an image\n".utf8)), ("PNG magic", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 64)),
                                ("empty", [])] as [(String, [UInt8])] {
            let e = expectDataError(what) { try content.withUnsafeBytes { _ = try JPEGDecoder.header($0, path: "x.jpg") } }
            guard case .badSample(let path, let reason) = e else { return XCTFail("\(what): \(String(describing: e))") }
            XCTAssertEqual(path, "x.jpg")
            XCTAssertTrue(reason.contains("not a readable JPEG"), reason)
        }
    }

    func testCorruptEntropyDataIsAnErrorOrAWarningNeverACrash() throws {
        var b = try bytes("jpeg/baseline_444.jpg")
        // Overwrite a stretch of scan data with a marker-like pattern.
        for k in stride(from: b.count / 2, to: b.count / 2 + 200, by: 2) { b[k] = 0xFF; b[k + 1] = 0xD9 }
        do {
            try b.withUnsafeBytes { raw in
                let (view, _) = try JPEGDecoder().decode(raw, path: "c.jpg")
                XCTAssertEqual(view.width, 512)
            }
        } catch let e as DataError {
            guard case .badSample(let p, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(p, "c.jpg")
        }
    }
}

extension SamplePlan {
    /// Renders from a full-image view (clip at its own corner).
    func renderForTest(_ view: ImageView, into out: inout [UInt8], scratch: Resampler.Scratch) {
        out.withUnsafeMutableBufferPointer { o in
            Resampler.resample(view, originX: clip.x, originY: clip.y, columns: Resampler.coefficients(columns),
                               rows: Resampler.coefficients(rows), into: o.baseAddress!, scratch: scratch)
            if flip {
                let w = columns.outCount
                for r in 0..<(view.channels * rows.outCount) { o[(r * w)..<((r + 1) * w)].reverse() }
            }
        }
    }
}
