import TensorEngine

/// The resampling one sample needs under a resizing augmentation: the source region the filters may read
/// (`clip`, in image pixels), the two axes of the resize relative to that region, and the flip.
public struct SamplePlan: Equatable, Sendable {
    public var clip: CropBox
    public var columns: Resampler.Axis, rows: Resampler.Axis
    public var flip: Bool

    public init(clip: CropBox, columns: Resampler.Axis, rows: Resampler.Axis, flip: Bool) {
        self.clip = clip; self.columns = columns; self.rows = rows; self.flip = flip
    }

    /// Draws the plan for a `width` x `height` image; nil for augmentations that do not resize.
    public static func draw(_ a: Augmentation, width: Int, height: Int, rng: inout RNG) -> SamplePlan? {
        switch a {
        case .none, .cropFlip:
            return nil
        case .randomResizedCrop(let size, let scale, let ratio, let flip):
            let box = Augmentation.randomResizedCropBox(width: width, height: height, scale: scale, ratio: ratio,
                                                        rng: &rng)
            let f = flip && rng.uniform() < 0.5
            return SamplePlan(clip: box, columns: .resize(box.width, to: size), rows: .resize(box.height, to: size),
                              flip: f)
        case .resizeCenterCrop(let resize, let crop):
            let r = Augmentation.resizedShape(width: width, height: height, shorter: resize)
            let left = Augmentation.centerCropOffset(r.width, crop), top = Augmentation.centerCropOffset(r.height, crop)
            return SamplePlan(
                clip: CropBox(x: 0, y: 0, width: width, height: height),
                columns: Resampler.Axis(inSize: width, in0: 0, in1: Double(width), outSize: r.width, outFirst: left,
                                        outCount: crop),
                rows: Resampler.Axis(inSize: height, in0: 0, in1: Double(height), outSize: r.height, outFirst: top,
                                     outCount: crop),
                flip: false)
        }
    }

    /// The largest DCT scale denominator (8, 4, 2 or 1) at which the region still has at least twice as many pixels
    /// as the output along both axes: the scaled IDCT then only replaces part of a reduction that the resampler's
    /// antialiasing filter finishes (on the test photos the mean absolute difference to the full-size path is at
    /// most 1.4 levels of 255, see JPEGDecoderTests).
    public func dctScale() -> Int {
        let needW = Double(columns.outSize) * Double(clip.width) / (columns.in1 - columns.in0)
        let needH = Double(rows.outSize) * Double(clip.height) / (rows.in1 - rows.in0)
        for d in [8, 4, 2] where Double(clip.width) / Double(d) >= 2 * needW && Double(clip.height) / Double(d) >= 2 * needH {
            return d
        }
        return 1
    }

    /// The same plan in the coordinates of the image decoded at 1/`d` (`scaledWidth` x `scaledHeight` pixels).
    public func scaled(by d: Int, scaledWidth: Int, scaledHeight: Int) -> SamplePlan {
        guard d > 1 else { return self }
        let s = Double(d)
        let x0 = clip.x / d, y0 = clip.y / d
        let x1 = Swift.min(scaledWidth, (clip.x + clip.width + d - 1) / d)
        let y1 = Swift.min(scaledHeight, (clip.y + clip.height + d - 1) / d)
        func axis(_ a: Resampler.Axis, origin: Int, scaledOrigin: Int, size: Int) -> Resampler.Axis {
            Resampler.Axis(inSize: size, in0: (Double(origin) + a.in0) / s - Double(scaledOrigin),
                           in1: (Double(origin) + a.in1) / s - Double(scaledOrigin), outSize: a.outSize,
                           outFirst: a.outFirst, outCount: a.outCount)
        }
        return SamplePlan(clip: CropBox(x: x0, y: y0, width: x1 - x0, height: y1 - y0),
                          columns: axis(columns, origin: clip.x, scaledOrigin: x0, size: x1 - x0),
                          rows: axis(rows, origin: clip.y, scaledOrigin: y0, size: y1 - y0), flip: flip)
    }
}
