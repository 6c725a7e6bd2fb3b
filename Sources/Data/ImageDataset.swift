/// Fixed-size images with labels: [count, channels, height, width] bytes, row-major (CHW per sample), labels in
/// 0..<numClasses. The bytes live in memory (IDX, CIFAR, synthetic) or in a memory-mapped packed file.
public struct ImageDataset: Sendable {
    public var name: String
    public var pixels: PixelStorage
    public var labels: [Int32]
    public var channels: Int, height: Int, width: Int
    public var numClasses: Int
    /// Class names in label order (empty when the format has none).
    public var classNames: [String]

    public init(name: String, pixels: PixelStorage, labels: [Int32], channels: Int, height: Int, width: Int,
                numClasses: Int, classNames: [String] = []) {
        precondition(pixels.count == labels.count * channels * height * width, "image bytes do not match labels")
        self.name = name; self.pixels = pixels; self.labels = labels
        self.channels = channels; self.height = height; self.width = width; self.numClasses = numClasses
        self.classNames = classNames
    }

    public init(name: String, images: [UInt8], labels: [Int32], channels: Int, height: Int, width: Int,
                numClasses: Int, classNames: [String] = []) {
        self.init(name: name, pixels: PixelStorage(images), labels: labels, channels: channels, height: height,
                  width: width, numClasses: numClasses, classNames: classNames)
    }

    public var count: Int { labels.count }
    /// Per-sample shape [C, H, W].
    public var sampleShape: [Int] { [channels, height, width] }
    public var sampleSize: Int { channels * height * width }

    /// The bytes of sample `i` (CHW).
    @inline(__always) public func sample(_ i: Int) -> UnsafePointer<UInt8> { pixels.base + i * sampleSize }

    /// The first `n` samples (quick runs); shares the bytes.
    public func prefix(_ n: Int) -> ImageDataset {
        let k = Swift.min(n, count)
        return ImageDataset(name: name, pixels: PixelStorage(slicing: pixels, range: 0..<(k * sampleSize)),
                            labels: Array(labels[0..<k]), channels: channels, height: height, width: width,
                            numClasses: numClasses, classNames: classNames)
    }

    /// Count of samples per class.
    public var classHistogram: [Int] {
        var h = [Int](repeating: 0, count: numClasses)
        for l in labels { h[Int(l)] += 1 }
        return h
    }
}
