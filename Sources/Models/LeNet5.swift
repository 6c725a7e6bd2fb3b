import Quantization
import TensorEngine

/// LeNet-5 (LeCun et al. 1998, with ReLU and max-pooling): conv 6@5x5 (pad 2) → pool → conv 16@5x5 → pool →
/// FC 120 → FC 84 → FC classes. It has no batch norm, so data-parallel training with any split of the batch
/// computes exactly the single-process gradient (used by the distributed equivalence test).
public enum LeNet5 {
    public static func layers(_ store: ParameterStore, inChannels: Int, height: Int, width: Int, numClasses: Int,
                              quant: QuantPolicy = .fp32) -> [Layer] {
        let h = ((height / 2) - 4) / 2, w = ((width / 2) - 4) / 2
        precondition(h >= 1 && w >= 1, "LeNet-5 needs inputs of at least 12x12")
        return [
            Conv2d(store, "conv1", inChannels: inChannels, outChannels: 6, kernel: 5, padding: 2, bias: true,
                   quant: quant.spec(for: "conv1", role: .first)),
            ReLU(), MaxPool2d(kernel: 2),
            Conv2d(store, "conv2", inChannels: 6, outChannels: 16, kernel: 5, bias: true,
                   quant: quant.spec(for: "conv2", role: .middle)),
            ReLU(), MaxPool2d(kernel: 2), Flatten(),
            Linear(store, "fc1", inFeatures: 16 * h * w, outFeatures: 120, quant: quant.spec(for: "fc1", role: .middle)),
            ReLU(),
            Linear(store, "fc2", inFeatures: 120, outFeatures: 84, quant: quant.spec(for: "fc2", role: .middle)),
            ReLU(),
            Linear(store, "fc3", inFeatures: 84, outFeatures: numClasses, quant: quant.spec(for: "fc3", role: .last)),
        ]
    }
}
