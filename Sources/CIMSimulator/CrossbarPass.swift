import CCrossbar
import Foundation
import Models
import TensorEngine

extension CrossbarDatapath {
    /// The digital step of one layer: per-channel α·Δ and β·Δ, the bias, and the off-cell calibration.
    struct OutputStage {
        let scales: [(alphaStep: Float, betaStep: Float)]
        let bias: UnsafePointer<Float>?
        /// The nominal off conductance (in units of G_on) and the gain that undoes it; 0 and 1 for SRAM.
        let leak: Float, gain: Float

        /// The scales as the C kernel takes them: [M] Δα, [M] Δβ.
        let alphaSteps: [Float], betaSteps: [Float]

        init(_ q: LayerQuantization, step: Float, bias: UnsafePointer<Float>?, outChannels M: Int, onOffRatio: Double) {
            scales = (0..<M).map { c in
                let g = q.groups.count == M ? q.groups[c] : q.groups[0]
                return (g.alpha * step, g.beta * step)
            }
            alphaSteps = scales.map(\.alphaStep)
            betaSteps = scales.map(\.betaStep)
            self.bias = bias
            leak = onOffRatio.isInfinite ? 0 : Float(1 / onOffRatio)
            gain = 1 / (1 - leak)
        }

        /// `write` into y[p, c] channels-last (M channels per position) in one pass (`bwma_output_channels_last`:
        /// the same Float operations, the tiles transposed in registers), in Float or rounded to bf16 (`bf16`).
        func writeChannelsLast(_ acc: UnsafePointer<Float>, _ ld: Int, _ p0: Int, _ P: Int,
                               _ out: UnsafeMutableRawPointer, bf16: Bool) {
            alphaSteps.withUnsafeBufferPointer { a in
                betaSteps.withUnsafeBufferPointer { b in
                    var stage = bwma_output_stage(alpha_step: a.baseAddress, beta_step: b.baseAddress, bias: bias,
                                                  leak: leak, gain: gain, bf16_output: bf16 ? 1 : 0)
                    bwma_output_channels_last(&stage, acc + p0, ld, P, Int32(scales.count), out)
                }
            }
        }

        /// y[c, p] (channel stride `cs`, position stride `ps`) from the accumulators [M + 1, ld] (the weight columns,
        /// then the reference), positions p0..<p0 + P.
        func write(_ acc: UnsafePointer<Float>, _ ld: Int, _ p0: Int, _ P: Int, _ out: UnsafeMutablePointer<Float>,
                   _ cs: Int, _ ps: Int) {
            let M = scales.count, ref = acc + M * ld + p0
            for c in 0..<M {
                let (a, b) = scales[c], bc = bias?[c] ?? 0, ac = acc + c * ld + p0, o = out + c * cs
                var p = 0
                if ps == 1 {
                    // 16 positions at a time: the scalar expression lane by lane (the same bits).
                    let lk = SIMD16<Float>(repeating: leak), g = SIMD16<Float>(repeating: gain)
                    let av = SIMD16<Float>(repeating: a), bv = SIMD16<Float>(repeating: b)
                    let biasv = SIMD16<Float>(repeating: bc), two = SIMD16<Float>(repeating: 2)
                    while p + 16 <= P {
                        let r = UnsafeRawPointer(ref + p).loadUnaligned(as: SIMD16<Float>.self)
                        let onSum = (UnsafeRawPointer(ac + p).loadUnaligned(as: SIMD16<Float>.self) - lk * r) * g
                        UnsafeMutableRawPointer(o + p).storeBytes(of: av * (two * onSum - r) + (bv * r + biasv),
                                                                  as: SIMD16<Float>.self)
                        p += 16
                    }
                }
                for p in p..<P {
                    // Off-current calibration: A_c = (1 − r)·Σq·cell + r·Σq (r = 1/ratio, nominal).
                    let onSum = (ac[p] - leak * ref[p]) * gain
                    o[p * ps] = CrossbarDatapath.digitalOutput(alphaStep: a, betaStep: b, bias: bc, onSum: onSum,
                                                               inputSum: ref[p])
                }
            }
        }
    }

    /// One forward through the crossbar: input codes, the array's accumulation (bit-serial, ADC, shift-add; or
    /// one GEMM of the codes for an ideal chip), the digital step.
    struct Pass {
        let array: CrossbarArray
        let layout: RowLayout
        let bits: Int
        let adc: ADCQuantizer
        let tileRows: Int
        /// Code of a quantized input value: round(x_q·(2ᵏ − 1)/c).
        let codeScale: Float
        let output: OutputStage
        /// `CrossbarDatapath.readsImageRows`.
        let readsImageRowsEnabled: Bool

        /// Output pixels per GEMM on small feature maps.
        static let columnsPerGEMM = 1024

        /// A convolution: x [N, Cin, H, W] (NCHW or channels-last, its layout), y [N, Cout, outH, outW] (NCHW, or
        /// channels-last with `channelsLastOutput`); with `codes` ([N, H, W, Cin], `DatapathOperands.codes`) the
        /// input's codes are those, and x gives only the shape. Returns whether the codes were read from images
        /// (`readsImageRows`).
        @discardableResult
        func convolution(_ x: Tensor, _ geo: ConvGeometry, outChannels M: Int, y: UnsafeMutableRawPointer,
                         channelsLastOutput: Bool, bf16: Bool = false, codes: UnsafePointer<UInt8>? = nil) -> Bool {
            precondition(!bf16 || channelsLastOutput, "a bf16 output is written channels-last")
            let n = x.shape[0], K = layout.order.count, P = geo.outPixels
            let perImage = geo.channels * geo.height * geo.width
            // Images per GEMM: enough output pixels (≥ 1024 columns) to keep the GEMMs efficient on small maps.
            let group = Swift.max(1, Swift.min(n, (Self.columnsPerGEMM + P - 1) / P))
            let groups = (n + group - 1) / group
            // The int8 bit-planes take the codes as bytes; the fp32 GEMMs (device effects) as Floats. The popcount
            // kernel may read the bytes where they lie in padded images instead of an unrolled copy.
            let bytes = array.runsIntegerPlanes(bits: bits, tileRows: tileRows, adc: adc)
            let frame = bytes && readsImageRows(geo) ? ImageFrame(geo, order: layout.order) : nil
            let source = InputSource(x: x, codes: codes, perImage: perImage, codeScale: codeScale)
            let framedBytes = frame.map { $0.perImage * group + ImageFrame.spare } ?? 0
            Parallel.pieces(groups) { worker, range in
                let cols = group * P
                let b = DatapathBuffers(worker: worker, inputs: bytes ? 0 : K * cols, accumulators: (M + 1) * cols,
                                        scratch: array.scratchCount(positions: cols, bits: bits, tileRows: tileRows))
                let input = ImageBuffers(worker: worker, bytes: bytes, perImage: perImage,
                                         unrolled: frame != nil ? 0 : bytes ? K * cols : K * P,
                                         staged: source.isChannelsLast && !(bytes && codes != nil),
                                         framed: framedBytes)
                // The frames' borders are the padding's zero codes (`place` writes only the interiors).
                input.framed.initialize(repeating: 0, count: framedBytes)
                for gi in range {
                    let i0 = gi * group, count = Swift.min(group, n - i0), width = count * P
                    for g in 0..<count {
                        if bytes {
                            if let frame {
                                source.frame(i0 + g, geo, input, frame, into: input.framed + g * frame.perImage)
                            } else {
                                let planes = source.bytePlanes(i0 + g, geo, input)
                                CrossbarDatapath.orderedColumns(geo, image: planes, order: layout.order,
                                                                into: input.byteColumns + g * P, ld: width)
                            }
                        } else {
                            Im2col.forward(geo, x: source.valuePlanes(i0 + g, geo, input), col: input.columns, ld: P)
                            for r in 0..<K {
                                (b.codes + r * width + g * P).update(from: input.columns + layout.order[r] * P,
                                                                     count: P)
                            }
                        }
                    }
                    accumulate(width, frame: frame, bytes: bytes, input, b)
                    for g in 0..<count {
                        let out = y + (i0 + g) * M * P * (bf16 ? 2 : 4)
                        if channelsLastOutput {
                            output.writeChannelsLast(b.acc, width, g * P, P, out, bf16: bf16)
                        } else {
                            output.write(b.acc, width, g * P, P, out.assumingMemoryBound(to: Float.self), P, 1)
                        }
                    }
                }
            }
            return frame != nil
        }

        /// The array's accumulation of a group's `width` positions from where `convolution` put the codes: framed
        /// images, ordered byte columns, or Float codes.
        private func accumulate(_ width: Int, frame: ImageFrame?, bytes: Bool, _ input: ImageBuffers,
                                _ b: DatapathBuffers) {
            if let frame {
                frame.rows(input.framed) { src in
                    array.accumulate(imageRows: src, positions: width, bits: bits, groups: layout.groups, adc: adc,
                                     into: b.acc, scratch: b.scratch)
                }
            } else if bytes {
                array.accumulate(byteCodes: input.byteColumns, positions: width, bits: bits, groups: layout.groups,
                                 adc: adc, into: b.acc, scratch: b.scratch)
            } else {
                array.accumulate(codes: b.codes, positions: width, bits: bits, groups: layout.groups, adc: adc,
                                 into: b.acc, scratch: b.scratch)
            }
        }

        /// Where a convolution's input codes come from: the codes themselves (channels-last bytes), or the quantized
        /// values x_q, whose codes are round(x_q·codeScale).
        private struct InputSource {
            let x: Tensor, codes: UnsafePointer<UInt8>?, perImage: Int, codeScale: Float

            /// Whether an image's codes arrive channels-last (and must become channel planes).
            var isChannelsLast: Bool { codes != nil || x.layout == .nhwc }

            /// Image i's codes as bytes in channel planes [C, H, W] (in `input.byteImage`).
            func bytePlanes(_ i: Int, _ geo: ConvGeometry, _ input: ImageBuffers) -> UnsafePointer<UInt8> {
                let positions = geo.height * geo.width, channels = Int32(geo.channels)
                if let codes {
                    bwma_bytes_to_planes(codes + i * perImage, positions, channels, input.byteImage)
                    return UnsafePointer(input.byteImage)
                }
                // Channels-last codes become channel planes as bytes (a quarter of the Float's traffic).
                let xi = x.data + i * perImage, channelsLast = isChannelsLast
                CrossbarDatapath.byteCodes(xi, perImage, codeScale,
                                           into: channelsLast ? input.byteStage : input.byteImage)
                if channelsLast { bwma_bytes_to_planes(input.byteStage, positions, channels, input.byteImage) }
                return UnsafePointer(input.byteImage)
            }

            /// Image i's codes as bytes in its padded frame (`slot`): given codes straight from channels-last.
            func frame(_ i: Int, _ geo: ConvGeometry, _ input: ImageBuffers, _ frame: ImageFrame,
                       into slot: UnsafeMutablePointer<UInt8>) {
                if let codes { return frame.place(channelsLast: codes + i * perImage, into: slot) }
                frame.place(bytePlanes(i, geo, input), into: slot)
            }

            /// Image i's codes as Float values in channel planes [C, H, W] (in `input.image`).
            func valuePlanes(_ i: Int, _ geo: ConvGeometry, _ input: ImageBuffers) -> UnsafePointer<Float> {
                let staged = isChannelsLast ? input.stage : input.image
                if let codes {
                    for t in 0..<perImage { staged[t] = Float(codes[i * perImage + t]) }
                } else {
                    CrossbarDatapath.codes(x.data + i * perImage, perImage, codeScale, into: staged)
                }
                if isChannelsLast {
                    LayoutKernels.toPlanes(input.image, input.stage, batch: 1, channels: geo.channels,
                                           positions: geo.height * geo.width)
                }
                return UnsafePointer(input.image)
            }
        }

        /// One worker's per-image buffers: the Float route's codes and im2col matrix of one image, or the byte
        /// route's codes of one image and the ordered columns (or framed images) of a whole group; `staged`: a
        /// channels-last image's codes before they become planes. Pieces of the worker's workspace slot.
        private struct ImageBuffers {
            let image: UnsafeMutablePointer<Float>, columns: UnsafeMutablePointer<Float>
            let byteImage: UnsafeMutablePointer<UInt8>, byteColumns: UnsafeMutablePointer<UInt8>
            let stage: UnsafeMutablePointer<Float>, byteStage: UnsafeMutablePointer<UInt8>
            /// A group's images in padded frames (`ImageFrame`).
            let framed: UnsafeMutablePointer<UInt8>

            init(worker: Int, bytes: Bool, perImage: Int, unrolled: Int, staged: Bool, framed: Int) {
                let floats = bytes ? 0 : 4
                let p = EngineContext.workspace.pieces(
                    .datapathInputs, worker: worker,
                    bytes: [floats * perImage, floats * unrolled, bytes ? perImage : 0, bytes ? unrolled : 0,
                            staged ? floats * perImage : 0, staged && bytes ? perImage : 0, framed])
                image = p[0].bindMemory(to: Float.self, capacity: floats * perImage / 4)
                columns = p[1].bindMemory(to: Float.self, capacity: floats * unrolled / 4)
                byteImage = p[2].bindMemory(to: UInt8.self, capacity: bytes ? perImage : 0)
                byteColumns = p[3].bindMemory(to: UInt8.self, capacity: bytes ? unrolled : 0)
                stage = p[4].bindMemory(to: Float.self, capacity: staged ? floats * perImage / 4 : 0)
                byteStage = p[5].bindMemory(to: UInt8.self, capacity: staged && bytes ? perImage : 0)
                self.framed = p[6].bindMemory(to: UInt8.self, capacity: framed)
            }
        }

        /// A linear layer: the batch's input vectors are the columns of one [in, N] code matrix; y [N, out].
        func linear(_ x: Tensor, outChannels M: Int, y: UnsafeMutablePointer<Float>) {
            let n = x.shape[0], K = layout.order.count
            let b = DatapathBuffers(worker: 0, inputs: K * n, accumulators: (M + 1) * n,
                                    scratch: array.scratchCount(positions: n, bits: bits, tileRows: tileRows))
            CrossbarDatapath.codes(x.data, K * n, codeScale, into: b.raw)
            for i in 0..<n { for r in 0..<K { b.codes[r * n + i] = b.raw[i * K + layout.order[r]] } }
            array.accumulate(codes: b.codes, positions: n, bits: bits, groups: layout.groups, adc: adc, into: b.acc,
                             scratch: b.scratch)
            output.write(b.acc, n, 0, n, y, 1, M)
        }
    }
}
