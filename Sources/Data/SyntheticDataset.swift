import TensorEngine

/// Seeded random images for benchmarks and tests: class c's images are noise around a class-specific pattern, so
/// a network can learn them, and the same seed gives the same bytes on every machine.
public enum SyntheticDataset {
    public static func make(count: Int, channels: Int, height: Int, width: Int, classes: Int,
                            seed: UInt64) -> ImageDataset {
        precondition(count >= 0 && channels > 0 && height > 0 && width > 0 && classes > 0)
        let size = channels * height * width
        var patterns = RNG(seed: seed, stream: 0x5EED)
        let prototypes = (0..<classes).map { _ in (0..<size).map { _ in UInt8(truncatingIfNeeded: patterns.below(256)) } }
        var rng = RNG(seed: seed, stream: 0x5EED + 1)
        var pixels = [UInt8](repeating: 0, count: count * size), labels = [Int32](repeating: 0, count: count)
        for i in 0..<count {
            let c = rng.below(classes)
            labels[i] = Int32(c)
            for k in 0..<size {
                let v = Int(prototypes[c][k]) + rng.below(97) - 48
                pixels[i * size + k] = UInt8(Swift.max(0, Swift.min(255, v)))
            }
        }
        return ImageDataset(name: "synthetic", images: pixels, labels: labels, channels: channels, height: height,
                            width: width, numClasses: classes)
    }
}
