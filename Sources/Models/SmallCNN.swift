import Quantization
import TensorEngine

/// A small CNN for 28x28 grey images (fast smoke tests and MNIST-scale runs):
/// conv 32 → BN → ReLU → max-pool 2 → conv 64 → BN → ReLU → max-pool 2 → FC 256 → ReLU → FC classes.
public enum SmallCNN {
    public static func layers(_ store: ParameterStore, inChannels: Int, height: Int, width: Int,
                              numClasses: Int, quant: QuantPolicy = .fp32) -> [Layer] {
        precondition(height >= 4 && width >= 4, "SmallCNN needs at least 4x4 inputs")
        let flat = 64 * (height / 4) * (width / 4)
        return [
            Conv2d(store, "conv1", inChannels: inChannels, outChannels: 32, kernel: 3, padding: 1,
                   quant: quant.spec(for: "conv1", role: .first)),
            BatchNorm2d(store, "bn1", channels: 32, fusedReLU: true), MaxPool2d(kernel: 2),
            Conv2d(store, "conv2", inChannels: 32, outChannels: 64, kernel: 3, padding: 1,
                   quant: quant.spec(for: "conv2", role: .middle)),
            BatchNorm2d(store, "bn2", channels: 64, fusedReLU: true), MaxPool2d(kernel: 2),
            Flatten(),
            Linear(store, "fc1", inFeatures: flat, outFeatures: 256, quant: quant.spec(for: "fc1", role: .middle)),
            ReLU(),
            Linear(store, "fc2", inFeatures: 256, outFeatures: numClasses, quant: quant.spec(for: "fc2", role: .last)),
        ]
    }
}
