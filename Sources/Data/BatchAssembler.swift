import TensorEngine

/// Gathers samples by index into a float batch tensor [N, C, H, W] (normalised) and an Int32 label array.
public struct BatchAssembler {
    public let dataset: ImageDataset
    public let normalization: Normalization
    /// Per-channel scale 1/(255·std) and shift −mean/std, so a pixel costs one multiply-add.
    let scale: [Float], shift: [Float]

    public init(dataset: ImageDataset, normalization: Normalization) {
        precondition(normalization.mean.count == dataset.channels, "normalisation has the wrong channel count")
        self.dataset = dataset
        self.normalization = normalization
        scale = normalization.std.map { 1 / (255 * $0) }
        shift = zip(normalization.mean, normalization.std).map { -$0 / $1 }
    }

    /// Fills `x` (reshaped to [indices.count, C, H, W]) and `labels` (capacity ≥ indices.count).
    public func fill<C: Collection>(_ indices: C, x: Tensor, labels: UnsafeMutablePointer<Int32>) where C.Element == Int {
        let d = dataset, plane = d.height * d.width, size = d.sampleSize
        x.ensure(shape: [indices.count, d.channels, d.height, d.width])
        let out = x.data
        d.images.withUnsafeBufferPointer { px in
            for (row, i) in indices.enumerated() {
                precondition(i >= 0 && i < d.count, "sample index \(i) outside 0..<\(d.count)")
                labels[row] = d.labels[i]
                for c in 0..<d.channels {
                    let src = px.baseAddress! + i * size + c * plane
                    let dst = out + row * size + c * plane
                    let a = scale[c], b = shift[c]
                    for k in 0..<plane { dst[k] = Float(src[k]) * a + b }
                }
            }
        }
    }
}
