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
        /// The BWMA soft staircase's amplitude a.
        public var bwmaAmplitude: Float = BWMAActivationQuantizer.defaultAmplitude
        /// The BWMA range learned instead of κ_k·rms.
        public var bwmaLearnedClip = false
        public var isQuantized: Bool { weights != nil || activationBits != nil }
    }

    public var weights: WeightBinarizer.Kind?
    public var activations: ActivationQuantizerKind
    public var abits: Int
    public var perChannel: Bool
    public var steClip: Float
    public var gradientThroughScale: Bool
    public var bwmaAmplitude: Float
    public var bwmaLearnedClip: Bool
    public var quantizeFirst: Bool
    public var quantizeLast: Bool
    public var overrides: [Override]

    /// One `layers` entry: layers named `pattern` (or starting with it, when it ends in `*`) get binary weights
    /// or not, and `bits`-bit inputs (nil: FP32).
    public struct Override: Sendable, Equatable {
        public var pattern: String
        public var weights: Bool
        public var bits: Int?

        func matches(_ name: String) -> Bool {
            pattern == name || (pattern.hasSuffix("*") && name.hasPrefix(pattern.dropLast()))
        }
    }

    /// Everything FP32.
    public static let fp32 = QuantPolicy(weights: nil, activations: .fp32, abits: 32)

    public init(weights: WeightBinarizer.Kind?, activations: ActivationQuantizerKind, abits: Int,
                perChannel: Bool = true, steClip: Float = 3, gradientThroughScale: Bool = false,
                bwmaAmplitude: Float = BWMAActivationQuantizer.defaultAmplitude, bwmaLearnedClip: Bool = false,
                quantizeFirst: Bool = false, quantizeLast: Bool = false, overrides: [String] = []) throws {
        self.weights = weights; self.activations = activations; self.abits = abits; self.perChannel = perChannel
        self.steClip = steClip; self.gradientThroughScale = gradientThroughScale; self.bwmaAmplitude = bwmaAmplitude
        self.bwmaLearnedClip = bwmaLearnedClip
        self.quantizeFirst = quantizeFirst; self.quantizeLast = quantizeLast
        self.overrides = try overrides.map(Self.parse)
    }

    /// The non-throwing form (no override strings to parse).
    private init(weights: WeightBinarizer.Kind?, activations: ActivationQuantizerKind, abits: Int) {
        self.weights = weights; self.activations = activations; self.abits = abits
        perChannel = true; steClip = 3; gradientThroughScale = false; quantizeFirst = false; quantizeLast = false
        bwmaAmplitude = BWMAActivationQuantizer.defaultAmplitude; bwmaLearnedClip = false
        overrides = []
    }

    /// A malformed `layers` entry: the entry and what it should look like.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let entry: String
        public let expected: String
        public var description: String { "'\(entry)': \(expected)" }
    }

    static func parse(_ entry: String) throws -> Override {
        let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty else {
            throw ParseError(entry: entry, expected: "expected <layer name or prefix*>=<fp32|w1|a<k>|w1a<k>>")
        }
        var spec = parts[1].lowercased()
        if spec == "fp32" { return Override(pattern: parts[0], weights: false, bits: nil) }
        var weights = false
        if spec.hasPrefix("w1") { weights = true; spec.removeFirst(2) }
        var bits: Int?
        if spec.hasPrefix("a") {
            guard let k = Int(spec.dropFirst()), (1...8).contains(k) else {
                throw ParseError(entry: entry, expected: "activation bits must be a1 … a8")
            }
            bits = k
        } else if !spec.isEmpty {
            throw ParseError(entry: entry, expected: "spec must be fp32, w1, a<k> or w1a<k>")
        }
        return Override(pattern: parts[0], weights: weights, bits: bits)
    }

    /// The resolved spec of layer `name` in position `role`.
    public func spec(for name: String, role: Role) -> LayerSpec {
        var binarize = weights != nil, bits: Int? = activations == .fp32 ? nil : abits
        if (role == .first && !quantizeFirst) || (role == .last && !quantizeLast) { binarize = false; bits = nil }
        for o in overrides where o.matches(name) {
            binarize = o.weights
            bits = o.bits
        }
        let kind = weights ?? .bwma
        let binarizer = binarize
            ? WeightBinarizer(kind: kind, perChannel: perChannel, steClip: steClip,
                              gradientThroughScale: gradientThroughScale) : nil
        return LayerSpec(weights: binarizer, activationBits: bits,
                         activationKind: activations == .fp32 ? .bwma : activations, bwmaAmplitude: bwmaAmplitude,
                         bwmaLearnedClip: bwmaLearnedClip)
    }
}
