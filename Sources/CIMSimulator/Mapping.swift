import Models
import TensorEngine

/// One convolution or fully connected layer as the crossbar sees it: the weight matrix unrolled to
/// rows = Cin·kh·kw inputs by Cout columns, applied at `positions` output pixels per image.
public struct LayerShape: Sendable, Equatable, Codable {
    public var name: String
    /// `conv` or `fc`.
    public var kind: String
    public var inChannels: Int, outChannels: Int
    public var kernel: Int, stride: Int
    public var inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int
    /// Binary weights with k-bit inputs: mapped onto the crossbar. Otherwise the layer stays digital (FP32).
    public var binarized: Bool

    /// Rows of the unrolled matrix (Cin·k²).
    public var rows: Int { inChannels * kernel * kernel }
    /// Output pixels per image (input vectors per image).
    public var positions: Int { outHeight * outWidth }
    /// Multiply-accumulates per image.
    public var macs: Int { rows * outChannels * positions }

    public init(name: String, kind: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int,
                inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int, binarized: Bool) {
        self.name = name; self.kind = kind; self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.inHeight = inHeight; self.inWidth = inWidth
        self.outHeight = outHeight; self.outWidth = outWidth; self.binarized = binarized
    }
}

/// Extracts the layer shapes of a model.
public enum Mapping {
    /// The convolution and linear layers of `model` in forward order, with their input sizes: runs one forward
    /// pass of a single zero image in evaluation mode (shapes of residual branches need no special cases).
    /// Datapaths are detached for that pass and restored.
    public static func layerShapes(of model: Model) -> [LayerShape] {
        let layers = model.leaves.compactMap { $0 as? QuantizableLayer }
        let saved = layers.map(\.datapath)
        for l in layers { l.datapath = nil }
        // Evaluation mode changes no statistic: the quantizers use their running ranges.
        let x = Tensor(shape: [1] + model.inputShape)
        x.fill(0)
        _ = model.forward(x, training: false)
        for (l, d) in zip(layers, saved) { l.datapath = d }
        return layers.map { layer in
            let q = layer.quantization
            let binarized = q?.binarizer != nil && q?.inputQuantizer != nil
            if let c = layer as? Conv2d, let g = c.lastGeometry {
                return LayerShape(name: c.name, kind: "conv", inChannels: c.inChannels, outChannels: c.outChannels,
                                  kernel: c.kernel.0, stride: c.stride.0, inHeight: g.height, inWidth: g.width,
                                  outHeight: g.outH, outWidth: g.outW, binarized: binarized)
            }
            let l = layer as! Linear
            return LayerShape(name: l.name, kind: "fc", inChannels: l.inFeatures, outChannels: l.outFeatures,
                              kernel: 1, stride: 1, inHeight: 1, inWidth: 1, outHeight: 1, outWidth: 1,
                              binarized: binarized)
        }
    }
}
