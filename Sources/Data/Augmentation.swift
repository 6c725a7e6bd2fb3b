import Foundation
import TensorEngine

/// The geometric transform applied to each sample before normalisation, torchvision's recipes:
/// - `none`: the image as stored (fixed-size datasets).
/// - `cropFlip`: `RandomCrop(size, padding)` with zero padding, then `RandomHorizontalFlip` (CIFAR).
/// - `randomResizedCrop`: `RandomResizedCrop(size, scale, ratio)` with bilinear antialiased resampling, then
///   `RandomHorizontalFlip` (ImageNet training).
/// - `resizeCenterCrop`: `Resize(resize)` of the shorter side, then `CenterCrop(crop)` (ImageNet evaluation).
///
/// Random draws come from an `RNG` the loader seeds per (run seed, epoch, sample index), so a sample's
/// augmentation does not depend on which worker thread or rank handles it, and a resumed run redraws it exactly.
public enum Augmentation: Sendable, Equatable {
    case none
    case cropFlip(padding: Int, flip: Bool)
    case randomResizedCrop(size: Int, scale: ClosedRange<Double>, ratio: ClosedRange<Double>, flip: Bool)
    case resizeCenterCrop(resize: Int, crop: Int)

    /// ImageNet's training recipe at `size`.
    public static func imagenetTrain(size: Int = 224) -> Augmentation {
        .randomResizedCrop(size: size, scale: 0.08...1, ratio: (3.0 / 4)...(4.0 / 3), flip: true)
    }

    /// ImageNet's evaluation recipe: resize to size·256/224, center crop `size`.
    public static func imagenetEval(size: Int = 224) -> Augmentation {
        .resizeCenterCrop(resize: Int((Double(size) * 256 / 224).rounded()), crop: size)
    }

    /// The output [C, H, W] for inputs of `channels` and (for fixed-size data) `height` x `width`.
    public func outputShape(channels: Int, height: Int, width: Int) -> [Int] {
        switch self {
        case .none, .cropFlip: return [channels, height, width]
        case .randomResizedCrop(let s, _, _, _): return [channels, s, s]
        case .resizeCenterCrop(_, let c): return [channels, c, c]
        }
    }

    /// Whether images of different sizes come out at one size (needed for image folders).
    public var fixesSize: Bool {
        switch self {
        case .none, .cropFlip: return false
        case .randomResizedCrop, .resizeCenterCrop: return true
        }
    }
}

/// A crop box in source pixels (top-left corner and extent).
public struct CropBox: Equatable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
}

extension Augmentation {
    /// torchvision's `RandomResizedCrop.get_params`: up to ten draws of an area fraction in `scale` and a
    /// log-uniform aspect ratio in `ratio`; when none fits, the largest center crop within `ratio`.
    public static func randomResizedCropBox(width: Int, height: Int, scale: ClosedRange<Double>,
                                            ratio: ClosedRange<Double>, rng: inout RNG) -> CropBox {
        let area = Double(width * height)
        let logLo = log(ratio.lowerBound), logHi = log(ratio.upperBound)
        for _ in 0..<10 {
            let target = area * uniform(scale.lowerBound, scale.upperBound, &rng)
            let aspect = exp(uniform(logLo, logHi, &rng))
            let w = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= width && h > 0 && h <= height {
                let y = rng.below(height - h + 1), x = rng.below(width - w + 1)
                return CropBox(x: x, y: y, width: w, height: h)
            }
        }
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return CropBox(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h)
    }

    /// torchvision's `Resize(size)` output for an image: the shorter side becomes `size`, the longer
    /// `Int(size · long / short)` (truncated, as torchvision does).
    public static func resizedShape(width: Int, height: Int, shorter size: Int) -> (width: Int, height: Int) {
        if width <= height {
            return (size, Int(Double(size) * Double(height) / Double(width)))
        }
        return (Int(Double(size) * Double(width) / Double(height)), size)
    }

    /// torchvision's `CenterCrop` offset: `round((in − out) / 2)` (Python's round: half to even).
    public static func centerCropOffset(_ inSize: Int, _ outSize: Int) -> Int {
        Int((Double(inSize - outSize) / 2).rounded(.toNearestOrEven))
    }

    /// Uniform in [lo, hi) with 53 random bits.
    static func uniform(_ lo: Double, _ hi: Double, _ rng: inout RNG) -> Double {
        lo + (hi - lo) * Double(rng.next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}
