import Foundation
import Models
import TensorEngine

/// The CIM datapath of a layer the network keeps in FP32 (the first and the last by default) when the chip maps it
/// (`cim.map_fp32_layers`, docs/cim.md §1): the same subarrays, ADC and device effects as the binary layers, with
/// multi-bit weights and inputs.
///
/// - **Weights:** per output channel, s_c = max|W_c| / (2ʷ⁻¹ − 1) and W_q = round(W/s_c) ∈ [−(2ʷ⁻¹ − 1), 2ʷ⁻¹ − 1];
///   the cells hold the offset code U = W_q + 2ʷ⁻¹ ∈ [1, 2ʷ − 1] over w adjacent columns (bit j of U in column j),
///   w = `fp32WeightBits` — NeuroSim's synapse mapping with one-bit cells.
/// - **Inputs:** per image, asymmetric 8-bit codes u = clamp(round(x/s_x) + z, 0, 255) with s_x = (max − min)/255
///   over the image's input (min ≤ 0 ≤ max) and zero point z = round(−min/s_x); padding is x = 0, code z.
/// - **Crossbar:** bit-plane by bit-plane, row group by row group, every column's partial sum through the ADC, as for
///   the binary layers (`CrossbarArray.accumulate`); the shift-add gives A_j = Σ bit_j(U)·u per weight-bit column and
///   the reference sum A_ref = Σ u.
/// - **Digital:** the off-cell calibration of the binary datapath, then Σ U·u = Σ_j 2ʲ·A_j,
///   Σ W_q·(u − z) = Σ U·u − 2ʷ⁻¹·A_ref − z·Σ W_q, and y = s_c·s_x·Σ W_q·(u − z) + bias.
///
/// With ideal cells and a lossless ADC the integers are exact, so y is the 8-bit integer layer (tested against it);
/// the 8-bit rounding of weights and inputs is what remains against the FP32 layer.
public final class MultiBitCrossbarDatapath: ChipDatapath {
    public let config: CIMConfig
    public let layerIndex: Int
    /// Which chip of the config's seed the device effects come from (as `CrossbarDatapath.draw`).
    public var draw: UInt64 = 0
    private var cache = CrossbarCache()
    private var layout: CrossbarDatapath.RowLayout?
    /// Per output channel: the weight scale and Σ W_q; and W_q itself, [K, M] in the weights' row order.
    private(set) var scales: [Float] = [], weightSums: [Float] = [], weightCodes: [Int8] = []
    /// A convolution's output goes out channels-last (`LayerDatapath`; the input is read NCHW): the network's first
    /// layer then hands the binarized layers after it channels-last tensors. False only to compare.
    public var writesChannelsLast = true
    /// Whether an ideal chip with a lossless ADC runs the layer as the 8-bit integer GEMM it equals
    /// (MultiBitDatapath+Integer.swift). False only to compare with the bit-serial route.
    public var runsIntegerLayer = true
    /// Whether the last forward took that route (diagnostics, tests).
    public private(set) var ranIntegerLayer = false

    public init(config: CIMConfig, layerIndex: Int) {
        self.config = config
        self.layerIndex = layerIndex
    }

    var weightBits: Int { config.fp32WeightBits }

    /// Quantizes the weights and builds the crossbar (reused while the weights are unchanged).
    func crossbar(_ op: DatapathOperands, layout lay: CrossbarDatapath.RowLayout) -> CrossbarArray {
        let K = op.rows, M = op.outChannels, wb = weightBits, half = 1 << (wb - 1)
        let w = UnsafeBufferPointer(start: op.weights, count: K * M)
        return cache.array(weights: w, draw: draw) {
            var on = [Bool](repeating: false, count: M * wb * K)
            scales = []; weightSums = []
            weightCodes = [Int8](repeating: 0, count: wb <= 8 ? K * M : 0)
            var q = [Int](repeating: 0, count: K)  // one channel's W_q, in the weights' row order
            for c in 0..<M {
                let row = w[(c * K)..<((c + 1) * K)]
                let m = row.map { abs($0) }.max() ?? 0
                let s = m > 0 ? m / Float(half - 1) : 1
                for k in 0..<K {
                    q[k] = Int(Swift.min(Swift.max((w[c * K + k] / s).rounded(), -Float(half - 1)), Float(half - 1)))
                }
                for r in 0..<K {
                    let u = q[lay.order[r]] + half
                    for j in 0..<wb where (u >> j) & 1 == 1 { on[(c * wb + j) * K + r] = true }
                }
                scales.append(s); weightSums.append(Float(q.reduce(0, +)))
                if wb <= 8 { for k in 0..<K { weightCodes[k * M + c] = Int8(q[k]) } }
            }
            return CrossbarArray(on: on, outChannels: M * wb, rows: K, config: config,
                                 stream: CrossbarCache.stream(0xC2_0000, layer: layerIndex, draw: draw),
                                 digitalReference: lay.digitalReference)
        }
    }

    public func forward(_ op: DatapathOperands, y raw: UnsafeMutableRawPointer) {
        let y = raw.assumingMemoryBound(to: Float.self)  // (Float always: `writesBF16` is false)
        let K = op.rows, M = op.outChannels, wb = weightBits, half = Float(1 << (wb - 1)), bits = 8
        if layout == nil || layout!.order.count != K {
            layout = CrossbarDatapath.layout(op, config: config, columns: M * wb)
        }
        let lay = layout!, tileRows = lay.groups.max() ?? K
        let xb = crossbar(op, layout: lay)
        let adc = ADCQuantizer(bits: config.adcBits, rows: tileRows, range: config.adcRange)
        let ratio = config.effectiveOnOffRatio
        let leak: Float = ratio.isInfinite ? 0 : Float(1 / ratio), gain: Float = 1 / (1 - leak)
        let x = op.input, n = x.shape[0], perImage = x.count / Swift.max(n, 1)
        let P = op.geometry?.outPixels ?? 1
        let columns = M * wb
        // y [N, M, P] (or [N, P, M] channels-last) for a convolution, [N, M] for a linear layer (P = 1).
        let planar = !(writesChannelsLast && op.geometry != nil)
        ranIntegerLayer = takesIntegerRoute(xb, rows: K, tileRows: tileRows, adc: adc, leak: leak)
        if ranIntegerLayer { return integerForward(op, y: y, planar: planar) }
        let scaleOf = scales, sumOf = weightSums
        // Images in parallel (each worker its own buffers; the crossbar is read-only, outputs disjoint).
        Parallel.pieces(n) { worker, range in
            let b = DatapathBuffers(worker: worker, inputs: K * P, accumulators: (columns + 1) * P,
                                    scratch: xb.scratchCount(positions: P, bits: bits, tileRows: tileRows))
            let raw = b.raw, codes = b.codes, acc = b.acc
            for i in range {
                let xi = x.data + i * perImage
                let (sx, z) = Self.inputGrid(xi, perImage)
                if let g = op.geometry { Im2col.forward(g, x: xi, col: raw, ld: P) } else { raw.update(from: xi, count: K) }
                for r in 0..<K { Self.codes(raw + lay.order[r] * P, P, step: sx, zero: z, into: codes + r * P) }
                xb.accumulate(codes: codes, positions: P, bits: bits, groups: lay.groups, adc: adc, into: acc,
                              scratch: b.scratch)
                let ref = acc + columns * P, uSum = raw  // the image's columns are spent: reuse them
                for c in 0..<M {
                    let scale = scaleOf[c] * sx, bias = op.bias?[c] ?? 0, offset = z * sumOf[c]
                    // Σⱼ 2ʲ·A_j per position, j in order (positions innermost: vectorised).
                    uSum.update(repeating: 0, count: P)
                    for j in 0..<wb {
                        let a = acc + (c * wb + j) * P, w = Float(1 << j)
                        for p in 0..<P { uSum[p] += w * (a[p] - leak * ref[p]) * gain }
                    }
                    let out = y + i * M * P + (planar ? c * P : c), stride = planar ? 1 : M
                    for p in 0..<P { out[p * stride] = scale * (uSum[p] - half * ref[p] - offset) + bias }
                }
            }
        }
    }

    /// dst[p] = clamp(round(src[p]/s) + z, 0, 255), rounding half away from zero (`Float.rounded()`): round half
    /// to even by the FPU (adding 1.5·2²³), then the ties that went toward zero moved away from it — branch-free
    /// selects the compiler vectorises (`rounded()` is a libm call per value).
    public static func codes(_ src: UnsafePointer<Float>, _ n: Int, step s: Float, zero z: Float,
                             into dst: UnsafeMutablePointer<Float>) {
        let magic: Float = 12_582_912
        for i in 0..<n {
            let v = src[i] / s
            let even = (v + magic) - magic, d = v - even
            let up: Float = d == 0.5 && v > 0 ? 1 : 0, down: Float = d == -0.5 && v < 0 ? 1 : 0
            dst[i] = Swift.min(Swift.max(even + up - down + z, 0), 255)
        }
    }
}
