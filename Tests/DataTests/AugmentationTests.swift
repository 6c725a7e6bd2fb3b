import Data
import Foundation
import TensorEngine
import XCTest

final class AugmentationTests: XCTestCase {
    /// RandomCrop(padding) + flip equals cropping a zero-padded copy, drawn with the same random numbers.
    func testCropFlipEqualsPaddedCropBruteForce() throws {
        let c = 3, h = 7, w = 9, pad = 2
        let pixels = IDXFixtures.pseudoRandomBytes(c * h * w, seed: 3).map { Swift.max($0, 1) }  // no zeros
        let d = ImageDataset(name: "t", images: pixels, labels: [0], channels: c, height: h, width: w, numClasses: 1)
        var out = [UInt8](repeating: 0, count: c * h * w)
        var flips = 0, shifted = 0
        for seed in 0..<40 {
            var rng = RNG(seed: UInt64(seed)), mirror = rng
            try d.render(0, augmentation: .cropFlip(padding: pad, flip: true), rng: &rng, into: &out, scratch: RenderScratch())
            let dy = mirror.below(2 * pad + 1), dx = mirror.below(2 * pad + 1)
            let flip = mirror.uniform() < 0.5
            flips += flip ? 1 : 0
            shifted += (dy != pad || dx != pad) ? 1 : 0
            let ph = h + 2 * pad, pw = w + 2 * pad
            var padded = [UInt8](repeating: 0, count: c * ph * pw)
            for ch in 0..<c { for y in 0..<h { for x in 0..<w { padded[(ch * ph + y + pad) * pw + x + pad] = pixels[(ch * h + y) * w + x] } } }
            for ch in 0..<c {
                for y in 0..<h {
                    for x in 0..<w {
                        let sx = flip ? w - 1 - x : x
                        XCTAssertEqual(out[(ch * h + y) * w + x], padded[(ch * ph + y + dy) * pw + sx + dx], "seed \(seed)")
                    }
                }
            }
        }
        XCTAssertTrue(flips > 5 && flips < 35, "flip is a coin: \(flips)/40")
        XCTAssertGreaterThan(shifted, 20)
    }

    func testRandomResizedCropBoxesFollowTorchvisionsRule() {
        var rng = RNG(seed: 11)
        var fallback = 0
        for _ in 0..<2000 {
            let b = Augmentation.randomResizedCropBox(width: 500, height: 375, scale: 0.08...1, ratio: 0.75...(4.0 / 3), rng: &rng)
            XCTAssertTrue(b.x >= 0 && b.y >= 0 && b.x + b.width <= 500 && b.y + b.height <= 375)
            let area = Double(b.width * b.height) / Double(500 * 375)
            // Rounding the sides moves the area and ratio a little past the bounds.
            XCTAssertTrue(area > 0.07 && area <= 1.0, "area fraction \(area)")
            let ratio = Double(b.width) / Double(b.height)
            XCTAssertTrue(ratio > 0.7 && ratio < 1.4, "ratio \(ratio)")
            if b.width == 500 && b.height == 375 { fallback += 1 }
        }
        XCTAssertLessThan(fallback, 100)
        // A panorama never fits a large box at these ratios: the fallback is the central crop of ratio 4/3.
        var r2 = RNG(seed: 1)
        let b = Augmentation.randomResizedCropBox(width: 1000, height: 10, scale: 0.99...1, ratio: 0.75...(4.0 / 3), rng: &r2)
        XCTAssertEqual(b, CropBox(x: (1000 - 13) / 2, y: 0, width: 13, height: 10))
    }

    func testResizeShapeAndCenterCropFollowTorchvision() {
        XCTAssertTrue(Augmentation.resizedShape(width: 500, height: 375, shorter: 256) == (341, 256))
        XCTAssertTrue(Augmentation.resizedShape(width: 333, height: 500, shorter: 256) == (256, 384))
        XCTAssertEqual(Augmentation.centerCropOffset(341, 224), 58)  // round(58.5) = 58 (half to even)
        XCTAssertEqual(Augmentation.centerCropOffset(256, 224), 16)
        XCTAssertEqual(Augmentation.imagenetEval(), .resizeCenterCrop(resize: 256, crop: 224))
    }

    /// Resampling to the same size is the identity; the fixed-point weights of a downscale sum to 2^22.
    func testResamplerIdentityAndNormalisedWeights() {
        let pixels = IDXFixtures.pseudoRandomBytes(2 * 5 * 6, seed: 9)
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { p in
            let v = ImageView.chw(p.baseAddress!, channels: 2, height: 5, width: 6)
            Resampler.resample(v, columns: Resampler.coefficients(.resize(6, to: 6)),
                               rows: Resampler.coefficients(.resize(5, to: 5)), into: &out, scratch: Resampler.Scratch())
        }
        XCTAssertEqual(out, pixels)
        let k = Resampler.coefficients(.resize(500, to: 224))
        for o in 0..<224 {
            let s = (0..<Int(k.taps[o])).map { Int(k.weights[o * k.kernelSize + $0]) }.reduce(0, +)
            XCTAssertLessThanOrEqual(abs(s - (1 << 22)), Int(k.taps[o]), "output \(o)")
        }
    }

    /// A downscale by an integer factor of a constant image stays constant; of a step edge stays monotone.
    func testResamplerAveragesOnDownscale() {
        var img = [UInt8](repeating: 0, count: 40 * 40)
        for y in 0..<40 { for x in 20..<40 { img[y * 40 + x] = 200 } }
        var out = [UInt8](repeating: 0, count: 10 * 10)
        img.withUnsafeBufferPointer { p in
            Resampler.resample(.chw(p.baseAddress!, channels: 1, height: 40, width: 40),
                               columns: Resampler.coefficients(.resize(40, to: 10)),
                               rows: Resampler.coefficients(.resize(40, to: 10)), into: &out, scratch: Resampler.Scratch())
        }
        for y in 0..<10 {
            XCTAssertEqual(out[y * 10], 0); XCTAssertEqual(out[y * 10 + 9], 200)
            for x in 1..<10 { XCTAssertGreaterThanOrEqual(out[y * 10 + x], out[y * 10 + x - 1]) }
        }
    }
}
