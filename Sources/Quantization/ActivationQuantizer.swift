import TensorEngine

/// A k-bit unsigned activation quantizer applied to the input of a binarized layer (after the ReLU, so x ≥ 0):
/// the forward pass produces values on the grid {0, Δ, …, (2ᵏ − 1)Δ} exactly as the crossbar's input DAC sees them;
/// the backward pass defines the gradient rule. Learnable quantizers register their parameters in the model's
/// `ParameterStore` when constructed, so the optimiser updates them with everything else.
public protocol ActivationQuantizer: AnyObject {
    /// The config name of this quantizer (exports record it).
    var kind: ActivationQuantizerKind { get }
    var bits: Int { get }
    /// The current clipping range c (Δ = c/(2ᵏ − 1)); the value hardware uses after training.
    var clip: Float { get }
    /// Sets `clip` for a forward over these `count` values (batch statistics, a first-batch initialisation; in
    /// training mode statistics may update). Every quantizer's forward is this, then the staircase with that clip
    /// (`forward`, `codes`).
    func updateClip(x: UnsafePointer<Float>, count: Int, perSample: Int, training: Bool)
    /// dx from dy at the forward input x; accumulates into learnable parameters' gradients.
    func backward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>, count: Int,
                  perSample: Int)
    /// Sets learnable parameters to their initial values (after the arena is allocated).
    func initialize()
    /// Learnable parameters the quantizer registered (PACT's clip, LSQ's step).
    var parameters: [Parameter] { get }
    /// Data-parallel training: sums batch statistics over the ranks (`reduce` replaces `count` doubles by their sum
    /// across the job). Quantizers without batch statistics ignore it.
    func synchronizeStatistics(with reduce: @escaping (UnsafeMutablePointer<Double>, Int) -> Void)
}

extension ActivationQuantizer {
    public func updateClip(x: UnsafePointer<Float>, count: Int, perSample: Int, training: Bool) {}

    /// y = q(x) = Δ·round(clamp(x, 0, c)/Δ) over `count` values, Δ = c/(2ᵏ − 1).
    public func forward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int, perSample: Int,
                        training: Bool) {
        updateClip(x: x, count: count, perSample: perSample, training: training)
        QuantizationKernels.quantize(y: y, x: x, count: count, clip: clip, levels: levels(bits))
    }

    /// The same forward as integer codes instead of values, channels-last: codes[n, p, c] = j with
    /// q(x[n, c, p]) = j·Δ bit for bit (`IntegerConvKernels.codes`). x is [N, C, P] (`channelsLast` false) or
    /// [N, P, C].
    public func codes(x: UnsafePointer<Float>, batch: Int, channels: Int, positions: Int, channelsLast: Bool,
                      training: Bool, into codes: UnsafeMutablePointer<UInt8>) {
        let perSample = channels * positions
        updateClip(x: x, count: batch * perSample, perSample: perSample, training: training)
        IntegerConvKernels.codes(of: x, batch: channelsLast ? batch * positions : batch, channels: channels,
                                 positions: channelsLast ? 1 : positions, clip: clip, levels: levels(bits),
                                 into: codes)
    }

    public func initialize() {}
    public var parameters: [Parameter] { [] }
    public func synchronizeStatistics(with reduce: @escaping (UnsafeMutablePointer<Double>, Int) -> Void) {}
}

/// Kinds of activation quantizer a config can name.
public enum ActivationQuantizerKind: String, Sendable, CaseIterable {
    case fp32
    case uniformSTE = "uniform-ste"
    case pact, lsq, bwma

    /// Builds the quantizer for the layer `name` (nil for fp32), registering its parameters and buffers in `store`;
    /// `bwmaAmplitude` is the BWMA soft staircase's a, `bwmaLearnedClip` replaces its range rule by a parameter.
    public func make(bits: Int, store: ParameterStore, name: String,
                     bwmaAmplitude: Float = BWMAActivationQuantizer.defaultAmplitude,
                     bwmaLearnedClip: Bool = false) -> ActivationQuantizer? {
        precondition((1...8).contains(bits), "activation bits must be in 1...8")
        switch self {
        case .fp32: return nil
        case .uniformSTE: return UniformSTEQuantizer(bits: bits)
        case .pact: return PACTQuantizer(bits: bits, store: store, name: name)
        case .lsq: return LSQQuantizer(bits: bits, store: store, name: name)
        case .bwma: return BWMAActivationQuantizer(bits: bits, store: store, name: name, amplitude: bwmaAmplitude,
                                                   learnedClip: bwmaLearnedClip)
        }
    }
}

/// Levels above zero of a k-bit unsigned grid.
@inline(__always) func levels(_ bits: Int) -> Int { (1 << bits) - 1 }

// MARK: - The integer grid (hardware view)

extension ActivationQuantizer {
    /// Nonzero levels of the grid, 2ᵏ − 1: the largest input code.
    public var levelCount: Int { levels(bits) }

    /// Δ = c/(2ᵏ − 1), the value of one input code for the current range: a quantized value is `code · Δ`.
    public var quantizationStep: Float { clip / Float(levels(bits)) }

    /// The integer code 0…2ᵏ − 1 of a value on the grid (the output of `forward`). Exact for every grid value:
    /// y = fl(q·Δ) and y·(2ᵏ − 1)/c differs from q by a few ulps, far less than ½, for q ≤ 255.
    @inline(__always)
    public func code(ofQuantized y: Float) -> Int {
        Int((y * (Float(levels(bits)) / clip)).rounded(.toNearestOrEven))
    }
}
