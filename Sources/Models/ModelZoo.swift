import Quantization
import TensorEngine

/// Errors in a model request, phrased for the user.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unknownArch(String)
    case badInput(String)

    public var description: String {
        switch self {
        case .unknownArch(let a):
            return "unknown model '\(a)'; available: \(ModelZoo.names.joined(separator: ", "))"
        case .badInput(let s): return s
        }
    }
}

/// Builds models by name: `smallcnn`, `lenet5`, `resnet20/32/44/56` (any 6n+2 depth as `resnetN`), `resnet18`,
/// `vgg-small`, `vgg8` (DNN+NeuroSim's VGG8).
public enum ModelZoo {
    public static let names = ["smallcnn", "lenet5", "resnet20", "resnet32", "resnet44", "resnet56", "resnet18",
                               "vgg-small", "vgg8"]

    /// - Parameters:
    ///   - inputShape: per-sample [C, H, W].
    ///   - quant: which layers are binarized / take k-bit inputs (default: none).
    ///   - width: width multiplier of the CIFAR ResNets (1 elsewhere).
    public static func make(_ arch: String, inputShape: [Int], numClasses: Int, seed: UInt64 = 0,
                            quant: QuantPolicy = .fp32, width: Int = 1) throws -> Model {
        guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 }) else {
            throw ModelError.badInput("input shape must be C x H x W with positive sizes, got \(inputShape)")
        }
        guard numClasses >= 2 else { throw ModelError.badInput("num_classes must be at least 2, got \(numClasses)") }
        let (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
        let name = arch.lowercased()
        guard (1...64).contains(width) else { throw ModelError.badInput("width multiplier must be in 1...64, got \(width)") }
        let isCIFARResNet = name.hasPrefix("resnet") && name != "resnet18"
        guard width == 1 || isCIFARResNet else {
            throw ModelError.badInput("a width multiplier applies to the CIFAR ResNets (resnet20, 32, ...), not \(arch)")
        }
        let build: (ParameterStore) -> [Layer]
        switch name {
        case "smallcnn", "small-cnn":
            guard h >= 4, w >= 4 else { throw ModelError.badInput("smallcnn needs inputs of at least 4x4") }
            build = { SmallCNN.layers($0, inChannels: c, height: h, width: w, numClasses: numClasses, quant: quant) }
        case "lenet5", "lenet-5":
            guard h >= 12, w >= 12 else { throw ModelError.badInput("lenet5 needs inputs of at least 12x12") }
            build = { LeNet5.layers($0, inChannels: c, height: h, width: w, numClasses: numClasses, quant: quant) }
        case "resnet18":
            guard h >= 32, w >= 32 else { throw ModelError.badInput("resnet18 needs inputs of at least 32x32") }
            build = { ResNet18.layers($0, inChannels: c, numClasses: numClasses, quant: quant) }
        case "vgg-small", "vggsmall", "vgg_small":
            guard h >= 8, w >= 8 else { throw ModelError.badInput("vgg-small needs inputs of at least 8x8") }
            build = { VGGSmall.layers($0, inChannels: c, height: h, width: w, numClasses: numClasses, quant: quant) }
        case "vgg8":
            guard h >= 8, w >= 8 else { throw ModelError.badInput("vgg8 needs inputs of at least 8x8") }
            build = { VGGSmall.layers($0, inChannels: c, height: h, width: w, numClasses: numClasses, hidden: 1024,
                                      quant: quant) }
        default:
            guard name.hasPrefix("resnet"), let depth = Int(name.dropFirst(6)), depth >= 8, (depth - 2) % 6 == 0 else {
                throw ModelError.unknownArch(arch)
            }
            guard h >= 4, w >= 4 else { throw ModelError.badInput("\(arch) needs inputs of at least 4x4") }
            build = { ResNetCIFAR.layers($0, depth: depth, inChannels: c, numClasses: numClasses, widthMultiplier: width,
                                         quant: quant) }
        }
        return Model(arch: name, inputShape: inputShape, numClasses: numClasses, seed: seed, build: build)
    }
}
