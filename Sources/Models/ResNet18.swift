import Quantization
import TensorEngine

/// ImageNet ResNet-18 (He et al. 2016, torchvision layout): 7x7/2 conv (64) → 3x3/2 max-pool → four stages of two
/// basic blocks at 64, 128, 256, 512 channels (option-B projections) → global average pool → FC.
public enum ResNet18 {
    public static func layers(_ store: ParameterStore, inChannels: Int, numClasses: Int,
                              quant: QuantPolicy = .fp32) -> [Layer] {
        // The stem's gradients live in the blocks' shared buffers (dead by then): the pool writes into `first` and
        // the batch norm over it; in forward the batch norm's output, read only by the pool (which keeps its
        // winners, not its input), lives there too. (Layers are created in forward order: the arena's order.)
        let shared = BlockGradientBuffers()
        let conv = Conv2d(store, "conv1", inChannels: inChannels, outChannels: 64, kernel: 7, stride: 2, padding: 3,
                          quant: quant.spec(for: "conv1", role: .first))
        let bn = BatchNorm2d(store, "bn1", channels: 64, fusedReLU: true)
        let pool = MaxPool2d(kernel: 3, stride: 2, padding: 1)
        conv.outputFeedsBatchNorm = true
        bn.gradientInPlace = true
        bn.outputScratch = shared.first
        pool.dx = shared.first
        var layers: [Layer] = [conv, bn, pool]
        var c = 64, index = 0
        for (stage, width) in [64, 128, 256, 512].enumerated() {
            for b in 0..<2 {
                let stride = (stage > 0 && b == 0) ? 2 : 1
                layers.append(BasicBlock(store, "layer\(stage + 1).\(b)", inChannels: c, outChannels: width,
                                         stride: stride, shortcut: .optionB, shared: shared, index: index,
                                         quant: quant))
                c = width
                index += 1
            }
        }
        BasicBlock.chain(layers.compactMap { $0 as? BasicBlock })
        layers += [GlobalAvgPool2d(), Linear(store, "fc", inFeatures: 512, outFeatures: numClasses,
                                             quant: quant.spec(for: "fc", role: .last))]
        return layers
    }
}
