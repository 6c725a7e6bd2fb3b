import TensorEngine

/// A dataset the loader draws samples from: labels, and each sample rendered — decoded and geometrically
/// augmented — as 8-bit planar [C, H, W]. Normalisation to floats is the loader's.
public protocol SampleSource: Sendable {
    var name: String { get }
    var count: Int { get }
    var numClasses: Int { get }
    var channels: Int { get }
    var classNames: [String] { get }
    func label(_ i: Int) -> Int32
    /// [C, H, W] of every rendered sample; throws when the augmentation cannot give one size for this source.
    func outputShape(_ a: Augmentation) throws -> [Int]
    /// Renders sample `i` into `out` (capacity: the output shape's product).
    func render(_ i: Int, augmentation: Augmentation, rng: inout RNG, into out: UnsafeMutablePointer<UInt8>,
                scratch: RenderScratch) throws
}

/// Per-worker buffers reused from sample to sample.
public final class RenderScratch {
    public let resampler = Resampler.Scratch()
    public let jpeg = JPEGDecoder()
    /// File bytes of the sample being decoded.
    var file = [UInt8]()
    /// Warnings libjpeg reported on recoverable damage.
    public internal(set) var jpegWarnings = 0
    public init() {}
}

extension SamplePlan {
    /// Resamples `view` (holding the plan's clip region from view pixel (`x`, `y`) on) into `out` and flips.
    /// `coefficients` (columns, rows): the plan's filters when the caller has already computed them.
    func render(_ view: ImageView, clipAtX x: Int, y: Int, into out: UnsafeMutablePointer<UInt8>,
                scratch: Resampler.Scratch, coefficients: (Resampler.Coefficients, Resampler.Coefficients)? = nil) {
        let (cols, rows) = coefficients ?? (Resampler.coefficients(columns), Resampler.coefficients(self.rows))
        Resampler.resample(view, originX: x, originY: y, columns: cols, rows: rows, into: out, scratch: scratch)
        if flip { flipRows(out, planes: view.channels * self.rows.outCount, width: columns.outCount) }
    }
}

/// Mirrors each of `planes` rows of `width` bytes in place.
func flipRows(_ p: UnsafeMutablePointer<UInt8>, planes: Int, width: Int) {
    for r in 0..<planes {
        var a = p + r * width, b = a + width - 1
        while a < b { let t = a.pointee; a.pointee = b.pointee; b.pointee = t; a += 1; b -= 1 }
    }
}
