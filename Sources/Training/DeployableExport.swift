import Data
import Foundation
import Models
import Quantization
import RunConfiguration
import TensorEngine

/// The deployable weights of a trained model as a safetensors file (docs/export.md), for `bwma export`:
///
/// - binarized layer L (`Conv2d`/`Linear` with binary weights): `L.B` U8 [Cout, ceil(K/8)] — the signs B ∈ {−1,+1}
///   of each output channel's K = Cin·kh·kw (or in-features) weights in PyTorch order, packed 8 per byte, bit j of
///   byte k is weight 8k+j (little bit order, numpy `unpackbits(bitorder="little")`), 1 = +1, 0 = −1; `L.alpha`
///   and `L.beta` F32 [Cout] (per-layer scaling repeated per channel), so W = alpha·B + beta;
/// - FP32 layer L: `L.weight` F32 in its own shape; `L.bias` F32 [Cout] when the layer has one;
/// - batch norm N (unless folded): `N.weight`, `N.bias`, `N.running_mean`, `N.running_var` F32 [C];
/// - quantized input of layer L: `L.input_clip` F32 [1], the clipping range c (levels k·c/(2^bits − 1));
/// - metadata: `format` (`bwma-deploy`), `version`, `arch`, `input_shape`, `num_classes`, `bn_eps`, `weights`,
///   `activations`, `dataset`, `normalization`, `preprocess`, `graph` (the forward structure, `ModelGraph`),
///   `folded_bn`, and the flat `layers` list of version 1.
public enum DeployableExport {
    public static let format = "bwma-deploy"
    public static let version = 2

    /// Runs one evaluation-mode forward (it sets the activation ranges from their running statistics and the
    /// binarizers' B, α, β from the latent weights), then describes the model. `foldBatchNorm`: fold each batch
    /// norm that directly follows a convolution into it (`BatchNormFold`).
    public static func file(model: Model, config: RunConfig, foldBatchNorm: Bool = false) throws -> SafeTensors.File {
        _ = model.forward(Tensor(shape: [1] + model.inputShape), training: false)
        var f = SafeTensors.File()
        var layers: [[String: Any]] = []
        var eps: Float = 1e-5
        for leaf in model.leaves {
            if let bn = leaf as? BatchNorm2d {
                eps = bn.eps
                for p in [bn.gamma, bn.beta, bn.runningMean, bn.runningVar] {
                    f.tensors[p.name] = .init(p.value, count: p.count, shape: p.shape)
                }
                layers.append(["name": String(bn.gamma.name.dropLast(".weight".count)), "type": "batchnorm2d",
                               "channels": bn.channels])
            } else if let entry = weights(of: leaf, into: &f.tensors) {
                layers.append(entry)
            }
        }
        var graph = ModelGraph.describe(model)
        if foldBatchNorm { graph = BatchNormFold.apply(graph, tensors: &f.tensors) }
        f.metadata = try metadata(model: model, config: config, graph: graph, layers: layers, eps: eps,
                                  folded: foldBatchNorm)
        return f
    }

    /// The tensors of a convolution or linear layer and its `layers` entry; nil for other layers.
    static func weights(of leaf: Layer, into tensors: inout [String: SafeTensors.Tensor]) -> [String: Any]? {
        let weight: Parameter, bias: Parameter?, type: String, stride: Int, padding: Int
        if let c = leaf as? Conv2d {
            weight = c.weight; bias = c.bias; type = "conv2d"; stride = c.stride.0; padding = c.padding.0
        } else if let l = leaf as? Linear {
            weight = l.weight; bias = l.bias; type = "linear"; stride = 1; padding = 0
        } else { return nil }
        let name = String(weight.name.dropLast(".weight".count))
        let q = (leaf as? QuantizableLayer)?.quantization
        if let q, let signs = q.binaryWeights {
            let cout = weight.shape[0]
            let perChannel = q.groups.count == cout
            tensors["\(name).alpha"] = .init((0..<cout).map { q.groups[perChannel ? $0 : 0].alpha }, shape: [cout])
            tensors["\(name).beta"] = .init((0..<cout).map { q.groups[perChannel ? $0 : 0].beta }, shape: [cout])
            tensors["\(name).B"] = pack(signs, rows: cout, columns: weight.count / cout)
        } else {
            tensors["\(name).weight"] = .init(weight.value, count: weight.count, shape: weight.shape)
        }
        if let bias { tensors["\(name).bias"] = .init(bias.value, count: bias.count, shape: bias.shape) }
        if let iq = q?.inputQuantizer { tensors["\(name).input_clip"] = .init([iq.clip], shape: [1]) }
        return ["name": name, "type": type, "weight_shape": weight.shape, "stride": stride, "padding": padding,
                "binary_weights": q?.binarizer != nil, "input_bits": q?.inputQuantizer?.bits ?? NSNull()]
    }

    /// B ∈ {−1, +1} [rows, columns] as U8 [rows, ceil(columns/8)], bit j of byte k = column 8k+j, 1 = +1.
    static func pack(_ signs: UnsafePointer<Int8>, rows: Int, columns: Int) -> SafeTensors.Tensor {
        let bytesPerRow = (columns + 7) / 8
        var packed = [UInt8](repeating: 0, count: rows * bytesPerRow)
        for r in 0..<rows {
            for j in 0..<columns where signs[r * columns + j] > 0 {
                packed[r * bytesPerRow + j / 8] |= UInt8(1 << (j % 8))
            }
        }
        return .init(dtype: .u8, shape: [rows, bytesPerRow], data: Data(packed))
    }

    static func metadata(model: Model, config: RunConfig, graph: [GraphNode], layers: [[String: Any]], eps: Float,
                         folded: Bool) throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ v: T) throws -> String { String(decoding: try encoder.encode(v), as: UTF8.self) }
        let norm = try DatasetCatalog.normalization(config.dataSpec())
        let layerJSON = try JSONSerialization.data(withJSONObject: layers, options: [.sortedKeys])
        return ["format": format, "version": "\(version)", "arch": model.arch,
                "input_shape": "\(model.inputShape)", "num_classes": "\(model.numClasses)",
                "bn_eps": "\(eps)", "weights": config.quant.weights, "activations": config.quant.activations,
                "dataset": config.data.dataset,
                "normalization": try json(InputNormalization(mean: norm.mean, std: norm.std)),
                "preprocess": try json(Preprocess(config.augmentation(.test), dctScaling: config.data.dct_scaling,
                                                  inputShape: model.inputShape)),
                "graph": try json(graph), "folded_bn": folded ? "true" : "false",
                "layers": String(decoding: layerJSON, as: UTF8.self)]
    }

    /// Pixels become model input as (value/`pixel_scale` − mean_c)/std_c, channel by channel (RGB order).
    struct InputNormalization: Encodable {
        var mean: [Float], std: [Float]
        var pixelScale: Float = 255
    }

    /// What an evaluation sample goes through before normalisation: nothing for fixed-size datasets (`none`);
    /// for image folders torchvision's `Resize(resize)` + `CenterCrop(crop)` with Pillow's antialiased bilinear
    /// filter on the libjpeg-turbo decode (islow IDCT, fancy upsampling, RGB), optionally decoded at a reduced
    /// DCT scale first (`dct_scaling`, docs/export.md gives the rule).
    struct Preprocess: Encodable {
        var kind: String
        var inputShape: [Int]
        var resize: Int?, crop: Int?
        var interpolation: String?, dctScaling: Bool?

        init(_ a: Augmentation, dctScaling: Bool, inputShape: [Int]) {
            self.inputShape = inputShape
            if case .resizeCenterCrop(let r, let c) = a {
                kind = "resize_center_crop"; resize = r; crop = c
                interpolation = "pillow_bilinear_antialias"; self.dctScaling = dctScaling
            } else {
                kind = "none"
            }
        }
    }
}
