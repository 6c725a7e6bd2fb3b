/// Upper bounds on what a dataset file, a checkpoint or a config may ask the process to allocate. Readers check
/// every header field against them (and against the file size) before allocating or reading anything, so a crafted
/// or corrupt file fails with a message instead of a multi-gigabyte allocation or an overflowed size.
public enum DataLimits {
    /// Largest image side (height or width) of a dataset, a packed file or a model input.
    public static let maxSide = 4096
    /// Largest channel count of an image or a model input.
    public static let maxChannels = 4096
    /// Largest sample (channels x height x width elements).
    public static let maxSampleElements = 1 << 26
    /// Most classes a dataset or a model may have.
    public static let maxClasses = 100_000
    /// Largest batch tensor (batch x sample elements, Float32: 4 GiB).
    public static let maxBatchElements = 1 << 30

    /// `dims.reduce(1, *)` with overflow detection: nil when the product overflows or exceeds `limit`.
    public static func product(_ dims: [Int], limit: Int = .max) -> Int? {
        var p = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (q, overflow) = p.multipliedReportingOverflow(by: d)
            guard !overflow, q <= limit else { return nil }
            p = q
        }
        return p
    }

    /// Why the image shape `[C, H, W]` is unusable (nil: it is within the limits).
    public static func shapeProblem(_ shape: [Int]) -> String? {
        guard shape.count == 3 else { return "expected 3 dimensions CxHxW, got \(shape.count)" }
        guard (1...maxChannels).contains(shape[0]) else { return "\(shape[0]) channels (expected 1...\(maxChannels))" }
        guard (1...maxSide).contains(shape[1]), (1...maxSide).contains(shape[2]) else {
            return "image side \(shape[1])x\(shape[2]) (expected 1...\(maxSide) each)"
        }
        guard product(shape, limit: maxSampleElements) != nil else {
            return "sample of \(shape.map(String.init).joined(separator: "x")) elements exceeds \(maxSampleElements)"
        }
        return nil
    }
}
