import Models
import Quantization
import TensorEngine

/// Layers and inputs the datapath tests share.
enum TestLayers {
    /// A 3x3 W1A4 BWMA convolution with bias (padding 1, stride 1 or `stride`), initialised from `seed`. Keep the
    /// store alive while the layer is used: its parameters live in the store's arena.
    static func binarizedConv(inChannels cin: Int, outChannels cout: Int, seed: UInt64, stride: Int = 1) throws
        -> (conv: Conv2d, store: ParameterStore) {
        let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4)
        let store = ParameterStore()
        let conv = Conv2d(store, "c", inChannels: cin, outChannels: cout, kernel: 3, stride: stride, padding: 1,
                          bias: true, quant: policy.spec(for: "c", role: .middle))
        store.finalize()
        var rng = RNG(seed: seed)
        conv.initialize(rng: &rng)
        return (conv, store)
    }

    /// max(z, 0), z ~ N(0, 1): a ReLU output, the input of a quantized layer.
    static func reluInput(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed)
        let x = Tensor(shape: shape)
        for i in 0..<x.count { x.data[i] = max(rng.normal(), 0) }
        return x
    }
}
