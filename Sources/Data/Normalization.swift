/// Per-channel affine normalisation x ↦ (x/255 − mean_c) / std_c applied when bytes become a float batch.
public struct Normalization: Sendable, Equatable {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count && std.allSatisfy { $0 > 0 }, "bad normalisation")
        self.mean = mean; self.std = std
    }

    /// The usual published statistics (torchvision's references and the datasets' common recipes).
    public static let imagenet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    public static let cifar10 = Normalization(mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616])
    public static let cifar100 = Normalization(mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762])
    public static let fashionMNIST = Normalization(mean: [0.2860], std: [0.3530])
    public static let mnist = Normalization(mean: [0.1307], std: [0.3081])

    /// Mean and standard deviation per channel of a dataset's pixels (scaled to [0, 1]), accumulated in Double.
    /// An empty dataset gives mean 0 and std 1 (identity on the /255 scale).
    public static func fit(_ d: ImageDataset) -> Normalization {
        guard d.count > 0, d.height * d.width > 0 else {
            return Normalization(mean: .init(repeating: 0, count: d.channels), std: .init(repeating: 1, count: d.channels))
        }
        var sum = [Double](repeating: 0, count: d.channels), sq = sum
        let plane = d.height * d.width
        do {
            let px = d.pixels.base
            for i in 0..<d.count {
                for c in 0..<d.channels {
                    let base = (i * d.channels + c) * plane
                    var s: UInt64 = 0, s2: UInt64 = 0
                    for k in 0..<plane { let v = UInt64(px[base + k]); s += v; s2 += v * v }
                    sum[c] += Double(s); sq[c] += Double(s2)
                }
            }
        }
        let n = Double(d.count * plane)
        let mean = sum.map { $0 / n / 255 }
        let std = zip(sq, mean).map { (s2, m) in Swift.max((s2 / n / (255 * 255) - m * m), 1e-12).squareRoot() }
        return Normalization(mean: mean.map(Float.init), std: std.map(Float.init))
    }
}
