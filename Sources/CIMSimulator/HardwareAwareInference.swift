import Foundation
import Models
import Quantization
import TensorEngine

/// The CIM datapath of one binarized layer with k-bit inputs (docs/cim.md §Hardware-aware inference):
///
/// 1. input codes q ∈ 0…2ᵏ − 1 from the layer's quantized input (x_q = q·Δ);
/// 2. bit-serial: bit-plane j of the unrolled input drives the rows of every subarray; each column sums
///    bit·G (one cell per binary weight, on for B = +1); the ADC quantizes each partial sum;
/// 3. shift-add over bit-planes and subarrays gives A_c = Σ q·cell_c per channel and A_ref = Σ q from the
///    reference column;
/// 4. digital: the off cells' current is removed with the nominal ratio r = G_off/G_on (a calibration:
///    Σ q·cell = (A_c − r·A_ref)/(1 − r)), then Σ q·B = 2·Σ q·cell − A_ref and
///    y_c = α_c·Δ·Σ q·B + β_c·Δ·A_ref + bias_c.
///
/// With ideal cells and a lossless ADC the integers A are exact, so y equals the software result up to the Float
/// rounding of step 4 (docs/cim.md states what is bit-exact). Device effects come from `CIMConfig`; the draws are
/// seeded by the config's seed and the layer's index, so a chip is the same across batches and runs.
public final class CrossbarDatapath: ChipDatapath {
    public let config: CIMConfig
    public let layerIndex: Int
    /// The array of the last forward (rebuilt when the binarized weights or `draw` change).
    public var array: CrossbarArray? { cache.array }
    private var cache = CrossbarCache()
    /// Which chip of the config's seed the device effects come from: 0 is the chip of inference and reports;
    /// CIM-aware training with `resample_variation` sets the step number, so every step sees fresh variation.
    public var draw: UInt64 = 0
    private var rowLayout: RowLayout?
    /// Let an ideal chip with a lossless ADC run as the layer's integer kernel (`reproducesIntegerForward`).
    public var integerShortcut = true

    public init(config: CIMConfig, layerIndex: Int) {
        self.config = config
        self.layerIndex = layerIndex
    }

    /// How the layer's rows sit on the subarrays (the cost model's `LayerMapping`): `order[r]` is the im2col row
    /// placed at crossbar row r, `groups` the rows each subarray sums, `digitalReference` whether the reference
    /// sum is a popcount (no spare column).
    struct RowLayout: Equatable {
        var order: [Int], groups: [Int], digitalReference: Bool
    }

    func layout(_ op: DatapathOperands) -> RowLayout { Self.layout(op, config: config, columns: op.outChannels) }

    /// The row layout of a layer whose weights take `columns` crossbar columns.
    static func layout(_ op: DatapathOperands, config: CIMConfig, columns: Int) -> RowLayout {
        let R = config.subarrayRows, C = config.subarrayColumns
        let cin = op.geometry?.channels ?? op.rows, kernel = op.geometry?.kernelH ?? 1
        let square = op.geometry.map { $0.kernelH == $0.kernelW } ?? true
        let scheme = square ? LayerMapping.scheme(kind: op.geometry == nil ? "fc" : "conv", kernel: kernel,
                                                  inChannels: cin, rows: R) : .conventional
        let groups = scheme == .kernelSplit
            ? LayerMapping.rowGroups(inChannels: cin, kernel: kernel, scheme: scheme, rows: R)
            : LayerMapping.rowGroups(inChannels: op.rows, kernel: 1, scheme: .conventional, rows: R)
        return RowLayout(order: groups.flatMap { $0 }, groups: groups.map(\.count),
                         digitalReference: !LayerMapping.hasSpareColumn(weightColumns: columns, blockColumns: C))
    }

    /// The crossbar for these operands, reusing the last one while the weights are unchanged.
    func crossbar(_ op: DatapathOperands, signs: UnsafePointer<Int8>, layout: RowLayout) -> CrossbarArray {
        let K = op.rows, M = op.outChannels
        return cache.array(weights: UnsafeBufferPointer(start: op.weights, count: K * M), draw: draw) {
            // The cells hold B as the binarizer decided it (the layer's integer view), not a comparison of floats;
            // crossbar row r holds im2col row order[r].
            var on = [Bool](repeating: false, count: K * M)
            for c in 0..<M { for r in 0..<K { on[c * K + r] = signs[c * K + layout.order[r]] > 0 } }
            return CrossbarArray(on: on, outChannels: M, rows: K, config: config,
                                 stream: CrossbarCache.stream(0xC1_0000, layer: layerIndex, draw: draw),
                                 digitalReference: layout.digitalReference)
        }
    }

    /// Whether the layer may run its exact integer kernel instead (`LayerDatapath`): ideal cells and an ADC that
    /// is lossless for the rows each subarray sums make every partial sum the exact integer, so the shift-add gives
    /// A_c = Σ q·cell_c and A_ref = Σ q exactly, and the digital step is the integer forward's Float expression
    /// (`digitalOutput`). The sums must stay below 2²⁴ (exact in Float on the datapath's own path). Tests compare
    /// the two paths bit for bit; `integerShortcut = false` forces this datapath's own GEMMs.
    public func reproducesIntegerForward(_ op: DatapathOperands) -> Bool {
        guard integerShortcut, config.hasIdealCells, op.geometry != nil, let aq = op.quantization?.inputQuantizer,
              aq.bits <= 8, ((1 << aq.bits) - 1) * op.rows < 1 << 24 else { return false }
        let tileRows = currentLayout(op).groups.max() ?? op.rows
        return ADCQuantizer(bits: config.adcBits, rows: tileRows, range: config.adcRange).isLossless(rows: tileRows)
    }

    func currentLayout(_ op: DatapathOperands) -> RowLayout {
        if let l = rowLayout, l.order.count == op.rows { return l }
        let l = layout(op)
        rowLayout = l
        return l
    }

    /// A convolution's input is taken channels-last as it comes, and its output written channels-last
    /// (`LayerDatapath`); set false only to compare with the NCHW route.
    public var channelsLast = true
    public var readsChannelsLast: Bool { channelsLast }
    public var writesChannelsLast: Bool { channelsLast }
    /// Whether a binarized convolution hands over its input as codes (`LayerDatapath.readsCodes`) rather than as
    /// quantized values; false only to compare.
    public var takesCodes = true
    public var readsCodes: Bool { takesCodes }
    /// A channels-last output goes out in bf16 where the layer stores it so (`LayerDatapath.writesBF16`).
    public var writesBF16: Bool { channelsLast }
    /// Whether the popcount route reads a convolution's codes where they lie in padded images
    /// (`Pass.readsImageRows`) instead of an unrolled copy; false only to compare.
    public var readsImageRows = true
    /// Whether the last forward read its codes so (diagnostics, tests).
    public private(set) var lastReadImageRows = false

    public func forward(_ op: DatapathOperands, y: UnsafeMutableRawPointer) {
        guard let q = op.quantization, let aq = q.inputQuantizer, let signs = q.binaryWeights, !q.groups.isEmpty else {
            preconditionFailure("\(op.name): the CIM datapath needs binary weights and k-bit inputs")
        }
        let lay = currentLayout(op), tileRows = lay.groups.max() ?? op.rows
        let pass = Pass(array: crossbar(op, signs: signs, layout: lay), layout: lay, bits: aq.bits,
                        // Full scale on the rows a subarray actually sums (a kernel-split group of Cin < R rows uses
                        // all levels).
                        adc: ADCQuantizer(bits: config.adcBits, rows: tileRows, range: config.adcRange),
                        tileRows: tileRows, codeScale: Float(aq.levelCount) / aq.clip,
                        output: OutputStage(q, step: aq.quantizationStep, bias: op.bias, outChannels: op.outChannels,
                                            onOffRatio: config.effectiveOnOffRatio),
                        readsImageRowsEnabled: readsImageRows)
        if let geo = op.geometry {
            lastReadImageRows = pass.convolution(op.input, geo, outChannels: op.outChannels, y: y,
                                                 channelsLastOutput: channelsLast, bf16: op.bf16Output,
                                                 codes: op.codes)
        } else {
            precondition(!op.bf16Output, "\(op.name): a linear layer's datapath writes Float")
            lastReadImageRows = false
            pass.linear(op.input, outChannels: op.outChannels, y: y.assumingMemoryBound(to: Float.self))
        }
    }

    /// The digital step after the shift-add: y = α·Δ·(2·Σq·cell − Σq) + (β·Δ·Σq + bias), Σq·B = 2·Σq·cell − Σq —
    /// with exact sums the same Float operations as the engine's integer forward (`IntegerConvKernels.combine`).
    /// Public so that a reference implementation can apply the identical Float operations to its own sums.
    @inline(__always)
    public static func digitalOutput(alphaStep: Float, betaStep: Float, bias: Float, onSum: Float, inputSum: Float)
        -> Float {
        alphaStep * (2 * onSum - inputSum) + (betaStep * inputSum + bias)
    }

    /// Input codes round(x_q·(2ᵏ − 1)/c) of quantized values (the quantizer's `code(ofQuantized:)`, vectorised).
    public static func codes(_ x: UnsafePointer<Float>, _ count: Int, _ scale: Float,
                             into out: UnsafeMutablePointer<Float>) {
        let magic = SIMD16<Float>(repeating: 12_582_912), sv = SIMD16<Float>(repeating: scale)
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) * sv
            UnsafeMutableRawPointer(out + i).storeBytes(of: (v + magic) - magic, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { out[i] = (x[i] * scale).rounded(.toNearestOrEven); i += 1 }
    }
}

/// A layer's datapath on the simulated chip; `draw` selects which chip of the config's seed its device effects
/// come from (0: the chip of inference and reports).
public protocol ChipDatapath: LayerDatapath {
    var draw: UInt64 { get set }
}

/// Puts a model on the simulated chip: attaches a `CrossbarDatapath` to every binarized layer with k-bit inputs and,
/// with `map_fp32_layers`, a `MultiBitCrossbarDatapath` to the others (else they keep the software kernel); and
/// removes them again.
public enum HardwareAwareInference {
    /// Returns the names of the layers now running through the crossbar.
    @discardableResult
    public static func attach(to model: Model, config: CIMConfig) -> [String] {
        var names: [String] = []
        for (i, layer) in model.leaves.compactMap({ $0 as? QuantizableLayer }).enumerated() {
            if let q = layer.quantization, q.binarizer != nil, q.inputQuantizer != nil {
                layer.datapath = CrossbarDatapath(config: config, layerIndex: i)
            } else if config.mapFP32Layers {
                layer.datapath = MultiBitCrossbarDatapath(config: config, layerIndex: i)
            } else { continue }
            names.append(layer.name)
        }
        return names
    }

    /// Selects chip `draw` (see `CrossbarDatapath.draw`) in every attached datapath.
    public static func setDraw(_ draw: UInt64, in model: Model) {
        for layer in model.leaves.compactMap({ $0 as? QuantizableLayer }) { (layer.datapath as? ChipDatapath)?.draw = draw }
    }

    public static func detach(from model: Model) {
        for layer in model.leaves.compactMap({ $0 as? QuantizableLayer }) { layer.datapath = nil }
    }
}

/// A layer's crossbar, kept while its weights and the chip draw stay the same (built again when either changes).
struct CrossbarCache {
    private(set) var array: CrossbarArray?
    private var weights: [Float] = []
    private var draw: UInt64 = 0

    mutating func array(weights w: UnsafeBufferPointer<Float>, draw d: UInt64,
                        build: () -> CrossbarArray) -> CrossbarArray {
        if let a = array, draw == d, weights.elementsEqual(w) { return a }
        let a = build()
        array = a
        weights = Array(w)
        draw = d
        return a
    }

    /// The RNG stream of a layer's device effects on chip `draw` (`base` tells datapath kinds apart).
    static func stream(_ base: UInt64, layer: Int, draw: UInt64) -> UInt64 {
        base + UInt64(layer) &+ draw &* 0x1_0000_0000
    }
}
