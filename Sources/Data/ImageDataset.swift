/// Images and labels held in memory as bytes: [count, channels, height, width] row-major, labels in 0..<classes.
public struct ImageDataset: Sendable {
    public var name: String
    public var images: [UInt8]
    public var labels: [Int32]
    public var channels: Int, height: Int, width: Int
    public var numClasses: Int

    public init(name: String, images: [UInt8], labels: [Int32], channels: Int, height: Int, width: Int,
                numClasses: Int) {
        precondition(images.count == labels.count * channels * height * width, "image bytes do not match labels")
        self.name = name; self.images = images; self.labels = labels
        self.channels = channels; self.height = height; self.width = width; self.numClasses = numClasses
    }

    public var count: Int { labels.count }
    /// Per-sample shape [C, H, W].
    public var sampleShape: [Int] { [channels, height, width] }
    public var sampleSize: Int { channels * height * width }

    /// The first `n` samples (quick runs).
    public func prefix(_ n: Int) -> ImageDataset {
        let k = Swift.min(n, count)
        return ImageDataset(name: name, images: Array(images[0..<(k * sampleSize)]), labels: Array(labels[0..<k]),
                            channels: channels, height: height, width: width, numClasses: numClasses)
    }

    /// Count of samples per class.
    public var classHistogram: [Int] {
        var h = [Int](repeating: 0, count: numClasses)
        for l in labels { h[Int(l)] += 1 }
        return h
    }
}
