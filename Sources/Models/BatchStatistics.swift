import Quantization
import TensorEngine

/// A layer whose training pass uses batch statistics that data-parallel training can sum over the ranks
/// (synchronised batch norm; the BWMA activation range of a quantized input). Each layer says what it synchronises,
/// so a new layer with batch statistics joins by conforming — the trainer does not know the layer types.
public protocol BatchStatisticsLayer: Layer {
    /// From now on, `reduce` replaces `count` doubles by their sum over the job's ranks wherever the layer computes
    /// batch statistics.
    func synchronizeStatistics(with reduce: @escaping BatchNormKernel.Reduce)
}

extension BatchNorm2d: BatchStatisticsLayer {
    public func synchronizeStatistics(with reduce: @escaping BatchNormKernel.Reduce) { statisticsReducer = reduce }
}

extension Conv2d: BatchStatisticsLayer {
    public func synchronizeStatistics(with reduce: @escaping BatchNormKernel.Reduce) {
        quantization?.inputQuantizer?.synchronizeStatistics(with: reduce)
    }
}

extension Linear: BatchStatisticsLayer {
    public func synchronizeStatistics(with reduce: @escaping BatchNormKernel.Reduce) {
        quantization?.inputQuantizer?.synchronizeStatistics(with: reduce)
    }
}

extension Model {
    /// Synchronised statistics in every layer that has batch statistics (`BatchStatisticsLayer`).
    public func synchronizeStatistics(with reduce: @escaping BatchNormKernel.Reduce) {
        for case let layer as BatchStatisticsLayer in leaves { layer.synchronizeStatistics(with: reduce) }
    }
}
