import Foundation
import Models
import Quantization
import TensorEngine

/// The deployable weights of a trained model as a safetensors file (docs/export.md), for `bwma export`:
///
/// - binarized layer L (`Conv2d`/`Linear` with binary weights): `L.B` U8 [Cout, ceil(K/8)] — the signs B ∈ {−1,+1}
///   of each output channel's K = Cin·kh·kw (or in-features) weights in PyTorch order, packed 8 per byte, bit j of
///   byte k is weight 8k+j (little bit order, numpy `unpackbits(bitorder="little")`), 1 = +1, 0 = −1; `L.alpha`
///   and `L.beta` F32 [Cout] (per-layer scaling repeated per channel), so W = alpha·B + beta;
/// - FP32 layer L: `L.weight` F32 in its own shape; `L.bias` F32 [Cout] when the layer has one;
/// - batch norm N (kept, not folded): `N.weight`, `N.bias`, `N.running_mean`, `N.running_var` F32 [C];
/// - quantized input of layer L: `L.input_clip` F32 [1], the clipping range c (levels k·c/(2^bits − 1));
/// - metadata `format` (`bwma-deploy`), `version`, `arch`, `input_shape`, `num_classes`, `bn_eps`, and `layers`:
///   a JSON list in forward order of {name, type, weight_shape, binary_weights, input_bits, stride, padding}.
public enum DeployableExport {
    public static let format = "bwma-deploy"

    public static func file(model: Model, config: RunConfig) throws -> SafeTensors.File {
        var f = SafeTensors.File()
        var layers: [[String: Any]] = []
        var eps: Float = 1e-5
        for leaf in model.leaves {
            if let bn = leaf as? BatchNorm2d {
                let name = String(bn.gamma.name.dropLast(".weight".count))
                eps = bn.eps
                for p in [bn.gamma, bn.beta, bn.runningMean, bn.runningVar] {
                    f.tensors[p.name] = .init(p.value, count: p.count, shape: p.shape)
                }
                layers.append(["name": name, "type": "batchnorm2d", "channels": bn.channels])
                continue
            }
            let weight: Parameter, bias: Parameter?, type: String, stride: Int, padding: Int
            if let c = leaf as? Conv2d {
                weight = c.weight; bias = c.bias; type = "conv2d"; stride = c.stride.0; padding = c.padding.0
            } else if let l = leaf as? Linear {
                weight = l.weight; bias = l.bias; type = "linear"; stride = 1; padding = 0
            } else { continue }
            let name = String(weight.name.dropLast(".weight".count))
            let q = (leaf as? QuantizableLayer)?.quantization
            let cout = weight.shape[0], k = weight.count / cout
            var entry: [String: Any] = ["name": name, "type": type, "weight_shape": weight.shape, "stride": stride,
                                        "padding": padding, "binary_weights": q?.binarizer != nil,
                                        "input_bits": q?.inputQuantizer?.bits ?? NSNull()]
            if let b = q?.binarizer {
                let wq = [Float](unsafeUninitializedCapacity: weight.count) { buf, n in
                    var scratch = [Float](repeating: 0, count: weight.count)
                    var groups: [WeightBinarizer.Group] = []
                    scratch.withUnsafeMutableBufferPointer { s in
                        b.binarize(latent: weight.value, count: weight.count, outChannels: cout, into: buf.baseAddress!,
                                   groups: &groups, scratch: s.baseAddress!)
                    }
                    n = weight.count
                    let perGroup = weight.count / groups.count
                    var alpha = [Float](repeating: 0, count: cout), beta = alpha
                    for c in 0..<cout { let g = groups[(c * k) / perGroup]; alpha[c] = g.alpha; beta[c] = g.beta }
                    f.tensors["\(name).alpha"] = .init(alpha, shape: [cout])
                    f.tensors["\(name).beta"] = .init(beta, shape: [cout])
                }
                let alpha = f.tensors["\(name).alpha"]!.floats, beta = f.tensors["\(name).beta"]!.floats
                let bytesPerRow = (k + 7) / 8
                var packed = [UInt8](repeating: 0, count: cout * bytesPerRow)
                for c in 0..<cout {
                    for j in 0..<k where alpha[c] == 0 || wq[c * k + j] > beta[c] {
                        packed[c * bytesPerRow + j / 8] |= UInt8(1 << (j % 8))
                    }
                }
                f.tensors["\(name).B"] = .init(dtype: .u8, shape: [cout, bytesPerRow], data: Data(packed))
            } else {
                f.tensors["\(name).weight"] = .init(weight.value, count: weight.count, shape: weight.shape)
            }
            if let bias { f.tensors["\(name).bias"] = .init(bias.value, count: bias.count, shape: bias.shape) }
            if let iq = q?.inputQuantizer { f.tensors["\(name).input_clip"] = .init([iq.clip], shape: [1]) }
            layers.append(entry)
            entry.removeAll()
        }
        let layerJSON = try JSONSerialization.data(withJSONObject: layers, options: [.sortedKeys])
        f.metadata = ["format": format, "version": "1", "arch": model.arch,
                      "input_shape": "\(model.inputShape)", "num_classes": "\(model.numClasses)",
                      "bn_eps": "\(eps)", "weights": config.quant.weights, "activations": config.quant.activations,
                      "layers": String(decoding: layerJSON, as: UTF8.self)]
        return f
    }
}
