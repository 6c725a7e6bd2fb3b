/// Which layers are quantized, and how: the `quant` section of a config, resolved per layer by name and role.
///
/// Default: every convolution and fully connected layer is binarized with `weights` and takes `abits`-bit inputs
/// through `activations`, except the network's first layer (raw pixels, few channels: cheap in digital logic and
/// sensitive to quantization) and its last (the classifier), which stay FP32 — the convention of BWN, XNOR-Net and
/// most binary-weight work, kept so results compare. `layers` overrides single layers:
/// `"<pattern>=<spec>"`, pattern a layer name or a prefix ending in `*`, spec `fp32`, `w1` (binary weights, FP32
/// inputs), `a<k>` (FP32 weights, k-bit inputs) or `w1a<k>`.
public struct QuantPolicy: Sendable, Equatable {
    public enum Role: Sendable { case first, middle, last }

    /// What one layer gets.
    public struct LayerSpec: Sendable, Equatable {
        public var weights: WeightBinarizer?
        public var activationBits: Int?
        public var activationKind: ActivationQuantizerKind
        public var isQuantized: Bool { weights != nil || activationBits != nil }
    }

    public var weights: WeightBinarizer.Kind?
    public var activations: ActivationQuantizerKind
    public var abits: Int
    public var perChannel: Bool
    public var steClip: Float
    public var gradientThroughScale: Bool
    public var quantizeFirst: Bool
    public var quantizeLast: Bool
    public var overrides: [(pattern: String, weights: Bool, bits: Int?)]

    /// Everything FP32.
    public static let fp32 = QuantPolicy(weights: nil, activations: .fp32, abits: 32)

    public init(weights: WeightBinarizer.Kind?, activations: ActivationQuantizerKind, abits: Int,
                perChannel: Bool = true, steClip: Float = 3, gradientThroughScale: Bool = false,
                quantizeFirst: Bool = false, quantizeLast: Bool = false, overrides: [String] = []) throws {
        self.weights = weights; self.activations = activations; self.abits = abits; self.perChannel = perChannel
        self.steClip = steClip; self.gradientThroughScale = gradientThroughScale
        self.quantizeFirst = quantizeFirst; self.quantizeLast = quantizeLast
        self.overrides = try overrides.map(Self.parse)
    }

    private init(weights: WeightBinarizer.Kind?, activations: ActivationQuantizerKind, abits: Int) {
        self.weights = weights; self.activations = activations; self.abits = abits
        perChannel = false; steClip = 3; gradientThroughScale = false; quantizeFirst = false; quantizeLast = false
        overrides = []
    }

    public static func == (a: QuantPolicy, b: QuantPolicy) -> Bool {
        a.weights == b.weights && a.activations == b.activations && a.abits == b.abits && a.perChannel == b.perChannel
            && a.steClip == b.steClip && a.gradientThroughScale == b.gradientThroughScale
            && a.quantizeFirst == b.quantizeFirst && a.quantizeLast == b.quantizeLast
            && a.overrides.map { "\($0)" } == b.overrides.map { "\($0)" }
    }

    /// A malformed `layers` entry.
    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    static func parse(_ entry: String) throws -> (pattern: String, weights: Bool, bits: Int?) {
        let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty else {
            throw ParseError(description: "'\(entry)': expected <layer name or prefix*>=<fp32|w1|a<k>|w1a<k>>")
        }
        var spec = parts[1].lowercased()
        if spec == "fp32" { return (parts[0], false, nil) }
        var weights = false
        if spec.hasPrefix("w1") { weights = true; spec.removeFirst(2) }
        var bits: Int?
        if spec.hasPrefix("a") {
            guard let k = Int(spec.dropFirst()), (1...8).contains(k) else {
                throw ParseError(description: "'\(entry)': activation bits must be a1 … a8")
            }
            bits = k
        } else if !spec.isEmpty {
            throw ParseError(description: "'\(entry)': spec must be fp32, w1, a<k> or w1a<k>")
        }
        return (parts[0], weights, bits)
    }

    /// The resolved spec of layer `name` in position `role`.
    public func spec(for name: String, role: Role) -> LayerSpec {
        var binarize = weights != nil, bits: Int? = activations == .fp32 ? nil : abits
        if (role == .first && !quantizeFirst) || (role == .last && !quantizeLast) { binarize = false; bits = nil }
        for o in overrides where o.pattern == name || (o.pattern.hasSuffix("*") && name.hasPrefix(o.pattern.dropLast())) {
            binarize = o.weights
            bits = o.bits
        }
        let kind = weights ?? .bwma
        let binarizer = binarize
            ? WeightBinarizer(kind: kind, perChannel: perChannel, steClip: steClip,
                              gradientThroughScale: gradientThroughScale) : nil
        return LayerSpec(weights: binarizer, activationBits: bits,
                         activationKind: activations == .fp32 ? .bwma : activations)
    }
}
