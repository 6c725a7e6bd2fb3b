import Quantization
import TensorEngine

/// VGG-small (as in LQ-Nets / XNOR-Net CIFAR experiments): 128-128-M-256-256-M-512-512-M-FC, each conv 3x3 pad 1
/// followed by batch norm and ReLU.
///
/// With `hidden` = 1024 it is DNN+NeuroSim's VGG8 (its `NetWork_VGG8.csv`): the same six convolutions, then
/// FC 8192 → 1024 → ReLU → FC 1024 → classes; the hidden FC is binarized with k-bit inputs like the convolutions.
public enum VGGSmall {
    public static func layers(_ store: ParameterStore, inChannels: Int, height: Int, width: Int,
                              numClasses: Int, hidden: Int? = nil, quant: QuantPolicy = .fp32) -> [Layer] {
        var layers: [Layer] = []
        var c = inChannels, h = height, w = width, i = 0
        for (widthOut, pool) in [(128, false), (128, true), (256, false), (256, true), (512, false), (512, true)] {
            let conv = Conv2d(store, "features.conv\(i)", inChannels: c, outChannels: widthOut, kernel: 3,
                              padding: 1, quant: quant.spec(for: "features.conv\(i)", role: i == 0 ? .first : .middle))
            conv.outputFeedsBatchNorm = true
            layers += [conv, BatchNorm2d(store, "features.bn\(i)", channels: widthOut, fusedReLU: true)]
            if pool {
                precondition(h >= 2 && w >= 2, "VGG-small input \(height)x\(width) too small for three 2x2 pools")
                layers.append(MaxPool2d(kernel: 2))
                h /= 2; w /= 2
            }
            c = widthOut; i += 1
        }
        layers.append(Flatten())
        var features = c * h * w
        if let hidden {
            layers += [Linear(store, "fc1", inFeatures: features, outFeatures: hidden,
                              quant: quant.spec(for: "fc1", role: .middle)), ReLU()]
            features = hidden
        }
        layers.append(Linear(store, "classifier", inFeatures: features, outFeatures: numClasses,
                             quant: quant.spec(for: "classifier", role: .last)))
        return layers
    }
}
