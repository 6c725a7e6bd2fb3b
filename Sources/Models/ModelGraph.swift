import Quantization

/// A network's forward structure as data: what a consumer outside this code base (the PyTorch loader in
/// `python/bwma_torch.py`, a CIM simulator) needs to rebuild the computation from an export — every operator in
/// forward order, residual blocks with their shortcut kind, pooling, and each quantized input's rule. Encoded as JSON
/// with snake_case keys; fields that do not apply to a node are omitted (docs/export.md lists them per `op`).
public struct GraphNode: Codable, Equatable, Sendable {
    /// `conv2d`, `linear`, `batchnorm2d`, `relu`, `hardtanh`, `maxpool2d`, `avgpool2d`, `global_avgpool2d`,
    /// `flatten`, `basic_block`.
    public var op: String
    /// The layer's tensor-name prefix (`layer1.0.conv1`); nil for parameter-free operators.
    public var name: String?
    /// conv2d/linear: channels or features in and out; batchnorm2d: `outChannels` only.
    public var inChannels: Int?, outChannels: Int?
    /// conv2d and pooling: [h, w] each.
    public var kernel: [Int]?, stride: [Int]?, padding: [Int]?
    /// conv2d/linear: whether a `NAME.bias` tensor is added; whether the weights are binary (`NAME.B`, alpha, beta).
    public var bias: Bool?, binaryWeights: Bool?
    /// conv2d/linear: the k-bit quantizer applied to the layer's input (nil: FP32 input).
    public var inputQuant: InputQuant?
    /// conv2d/linear after `--fold-bn`: the batch norm that followed was folded into this layer.
    public var foldedBatchNorm: Bool?
    /// batchnorm2d: ε; `relu` true when a ReLU follows inside the same layer (batchnorm2d) or after the sum
    /// (basic_block).
    public var eps: Float?, relu: Bool?
    /// hardtanh: the clamp range.
    public var lo: Float?, hi: Float?
    /// basic_block: the main path, run on the block input; the shortcut; output relu(main + shortcut).
    public var body: [GraphNode]?
    public var shortcut: Shortcut?

    public init(op: String, name: String? = nil) { self.op = op; self.name = name }

    /// How a residual block's shortcut maps its input to the main path's shape.
    public struct Shortcut: Codable, Equatable, Sendable {
        /// `identity`; `option_a` (take every `stride`-th pixel, put the input's channels at `pad_front` …
        /// pad_front + in − 1 of `out_channels` and zeros elsewhere, He et al. 2016); `projection` (`body`).
        public var kind: String
        public var stride: Int?, padFront: Int?, outChannels: Int?
        public var body: [GraphNode]?

        public init(kind: String, stride: Int? = nil, padFront: Int? = nil, outChannels: Int? = nil,
                    body: [GraphNode]? = nil) {
            self.kind = kind; self.stride = stride; self.padFront = padFront; self.outChannels = outChannels
            self.body = body
        }
    }

    /// The k-bit input rule, in float32: code = round_half_even(min(max(x, 0), clip) · (levels / clip)),
    /// x_q = code · (clip / levels), levels = 2^bits − 1; `step` = clip / levels, the value of one code.
    public struct InputQuant: Codable, Equatable, Sendable {
        public var bits: Int, levels: Int
        public var clip: Float, step: Float
        /// The activation quantizer that trained the range (`bwma`, `pact`, `lsq`, `uniform-ste`).
        public var quantizer: String
        public var rounding = "half_even"
    }
}

/// Describes built models as `GraphNode` lists.
public enum ModelGraph {
    /// The model's forward structure (its top-level layers in order).
    public static func describe(_ model: Model) -> [GraphNode] { model.network.layers.flatMap(describe) }

    /// One layer as the nodes it runs (a `Sequential` as its children's).
    public static func describe(_ layer: Layer) -> [GraphNode] {
        switch layer {
        case let s as Sequential: return s.layers.flatMap(describe)
        case let c as Conv2d:
            var n = weighted("conv2d", c.name, c.inChannels, c.outChannels, c.bias != nil, c.quantization)
            n.kernel = [c.kernel.0, c.kernel.1]; n.stride = [c.stride.0, c.stride.1]
            n.padding = [c.padding.0, c.padding.1]
            return [n]
        case let l as Linear:
            return [weighted("linear", l.name, l.inFeatures, l.outFeatures, l.bias != nil, l.quantization)]
        case let b as BatchNorm2d:
            var n = GraphNode(op: "batchnorm2d", name: String(b.gamma.name.dropLast(".weight".count)))
            n.outChannels = b.channels; n.eps = b.eps; n.relu = b.fusedReLU
            return [n]
        case let b as BasicBlock: return [block(b)]
        case let p as MaxPool2d: return [pool("maxpool2d", p.window)]
        case let p as AvgPool2d: return [pool("avgpool2d", p.window)]
        case is GlobalAvgPool2d: return [GraphNode(op: "global_avgpool2d")]
        case is Flatten: return [GraphNode(op: "flatten")]
        case is ReLU: return [GraphNode(op: "relu")]
        case let h as Hardtanh:
            var n = GraphNode(op: "hardtanh")
            n.lo = h.lo; n.hi = h.hi
            return [n]
        default:
            preconditionFailure("ModelGraph has no description for \(type(of: layer)): add one with the layer")
        }
    }

    static func weighted(_ op: String, _ name: String, _ cin: Int, _ cout: Int, _ bias: Bool,
                         _ q: LayerQuantization?) -> GraphNode {
        var n = GraphNode(op: op, name: name)
        n.inChannels = cin; n.outChannels = cout; n.bias = bias; n.binaryWeights = q?.binarizer != nil
        if let iq = q?.inputQuantizer {
            n.inputQuant = .init(bits: iq.bits, levels: iq.levelCount, clip: iq.clip, step: iq.quantizationStep,
                                 quantizer: iq.kind.rawValue)
        }
        return n
    }

    static func pool(_ op: String, _ w: PoolWindow) -> GraphNode {
        var n = GraphNode(op: op)
        n.kernel = [w.kernel, w.kernel]; n.stride = [w.stride, w.stride]; n.padding = [w.padding, w.padding]
        return n
    }

    static func block(_ b: BasicBlock) -> GraphNode {
        var n = GraphNode(op: "basic_block", name: String(b.conv1.name.dropLast(".conv1".count)))
        n.body = [b.conv1, b.bn1, b.conv2, b.bn2].flatMap(describe)
        n.relu = true
        if b.identity {
            n.shortcut = .init(kind: "identity")
        } else if let p = b.projection {
            n.shortcut = .init(kind: "projection", body: describe(p))
        } else {
            n.shortcut = .init(kind: "option_a", stride: b.stride, padFront: (b.outChannels - b.inChannels) / 2,
                               outChannels: b.outChannels)
        }
        return n
    }
}
