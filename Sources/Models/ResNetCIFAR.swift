import Quantization
import TensorEngine

/// CIFAR-style ResNet-(6n+2) of He et al. (2016): 3x3 conv (16) → three stages of n basic blocks at 16, 32, 64
/// channels (stride 2 at the start of stages 2 and 3) → global average pool → FC. Option-A shortcuts. `widthMultiplier`
/// w scales every width (w = 4: 64/128/256, the network DNN+NeuroSim's ResNet-20 ×4 reference describes).
public enum ResNetCIFAR {
    /// Depth must be 6n + 2 (20, 32, 44, 56, 110, ...).
    public static func layers(_ store: ParameterStore, depth: Int, inChannels: Int, numClasses: Int,
                              shortcut: ShortcutKind = .optionA, widthMultiplier: Int = 1,
                              quant: QuantPolicy = .fp32) -> [Layer] {
        precondition((depth - 2) % 6 == 0 && depth >= 8, "CIFAR ResNet depth must be 6n+2, got \(depth)")
        let n = (depth - 2) / 6
        let stem = Conv2d(store, "conv1", inChannels: inChannels, outChannels: 16 * widthMultiplier, kernel: 3,
                          stride: 1, padding: 1, quant: quant.spec(for: "conv1", role: .first))
        stem.outputFeedsBatchNorm = true
        var layers: [Layer] = [stem, BatchNorm2d(store, "bn1", channels: 16 * widthMultiplier, fusedReLU: true)]
        var c = 16 * widthMultiplier, index = 0
        let shared = BlockGradientBuffers()
        for (stage, width) in [16, 32, 64].map({ $0 * widthMultiplier }).enumerated() {
            for b in 0..<n {
                let stride = (stage > 0 && b == 0) ? 2 : 1
                layers.append(BasicBlock(store, "layer\(stage + 1).\(b)", inChannels: c, outChannels: width,
                                         stride: stride, shortcut: shortcut, shared: shared, index: index,
                                         quant: quant))
                c = width
                index += 1
            }
        }
        BasicBlock.chain(layers.compactMap { $0 as? BasicBlock })
        layers += [GlobalAvgPool2d(), Linear(store, "fc", inFeatures: c, outFeatures: numClasses,
                                             quant: quant.spec(for: "fc", role: .last))]
        return layers
    }
}
