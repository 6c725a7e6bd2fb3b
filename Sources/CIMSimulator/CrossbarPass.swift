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

        init(_ q: LayerQuantization, step: Float, bias: UnsafePointer<Float>?, outChannels M: Int, onOffRatio: Double) {
            scales = (0..<M).map { c in
                let g = q.groups.count == M ? q.groups[c] : q.groups[0]
                return (g.alpha * step, g.beta * step)
            }
            self.bias = bias
            leak = onOffRatio.isInfinite ? 0 : Float(1 / onOffRatio)
            gain = 1 / (1 - leak)
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
        /// channels-last with `channelsLastOutput`). Returns whether the codes were read from images
        /// (`readsImageRows`).
        @discardableResult
        func convolution(_ x: Tensor, _ geo: ConvGeometry, outChannels M: Int, y: UnsafeMutablePointer<Float>,
                         channelsLastOutput: Bool) -> Bool {
            let n = x.shape[0], K = layout.order.count, P = geo.outPixels
            let perImage = geo.channels * geo.height * geo.width, channelsLast = x.layout == .nhwc
            // Images per GEMM: enough output pixels (≥ 1024 columns) to keep the GEMMs efficient on small maps.
            let group = Swift.max(1, Swift.min(n, (Self.columnsPerGEMM + P - 1) / P))
            let groups = (n + group - 1) / group
            // The int8 bit-planes take the codes as bytes; the fp32 GEMMs (device effects) as Floats. The popcount
            // kernel may read the bytes where they lie in padded images instead of an unrolled copy.
            let bytes = array.runsIntegerPlanes(bits: bits, tileRows: tileRows, adc: adc)
            let frame = bytes && readsImageRows(geo) ? ImageFrame(geo, order: layout.order) : nil
            Parallel.chunks(groups) { _, range in
                let cols = group * P
                let b = DatapathBuffers(inputs: bytes ? 0 : K * cols, accumulators: (M + 1) * cols,
                                        scratch: array.scratchCount(positions: cols, bits: bits, tileRows: tileRows))
                let input = ImageBuffers(bytes: bytes, perImage: perImage,
                                         unrolled: frame != nil ? 0 : bytes ? K * cols : K * P,
                                         staged: channelsLast, outputs: channelsLastOutput ? M * P : 0)
                let framed = frame?.buffer(images: group)
                defer { b.deallocate(); input.deallocate(); framed?.deallocate() }
                for gi in range {
                    let i0 = gi * group, count = Swift.min(group, n - i0), width = count * P
                    for g in 0..<count {
                        let xi = x.data + (i0 + g) * perImage
                        if bytes {
                            // Channels-last codes become channel planes as bytes (a quarter of the Float's traffic).
                            CrossbarDatapath.byteCodes(xi, perImage, codeScale,
                                                       into: channelsLast ? input.byteStage : input.byteImage)
                            if channelsLast {
                                bwma_bytes_to_planes(input.byteStage, geo.height * geo.width, Int32(geo.channels),
                                                     input.byteImage)
                            }
                            if let frame, let framed {
                                frame.place(input.byteImage, into: framed + g * frame.perImage)
                            } else {
                                CrossbarDatapath.orderedColumns(geo, image: input.byteImage, order: layout.order,
                                                                into: input.byteColumns + g * P, ld: width)
                            }
                        } else {
                            CrossbarDatapath.codes(xi, perImage, codeScale,
                                                   into: channelsLast ? input.stage : input.image)
                            if channelsLast {
                                LayoutKernels.toPlanes(input.image, input.stage, batch: 1, channels: geo.channels,
                                                       positions: geo.height * geo.width)
                            }
                            Im2col.forward(geo, x: input.image, col: input.columns, ld: P)
                            for r in 0..<K {
                                (b.codes + r * width + g * P).update(from: input.columns + layout.order[r] * P,
                                                                     count: P)
                            }
                        }
                    }
                    if let frame, let framed {
                        frame.rows(framed) { src in
                            array.accumulate(imageRows: src, positions: width, bits: bits, groups: layout.groups,
                                             adc: adc, into: b.acc, scratch: b.scratch)
                        }
                    } else if bytes {
                        array.accumulate(byteCodes: input.byteColumns, positions: width, bits: bits,
                                         groups: layout.groups, adc: adc, into: b.acc, scratch: b.scratch)
                    } else {
                        array.accumulate(codes: b.codes, positions: width, bits: bits, groups: layout.groups,
                                         adc: adc, into: b.acc, scratch: b.scratch)
                    }
                    for g in 0..<count {
                        // Channels-last: the planes' vectorised digital step, then one tile transpose into y.
                        let out = y + (i0 + g) * M * P
                        output.write(b.acc, width, g * P, P, channelsLastOutput ? input.outputs : out, P, 1)
                        if channelsLastOutput { bwma_planes_to_channels_last(input.outputs, P, Int32(M), out) }
                    }
                }
            }
            return frame != nil
        }

        /// One worker's per-image buffers: the Float route's codes and im2col matrix of one image, or the byte
        /// route's codes of one image and the ordered columns of a whole group; `staged`: a channels-last image's
        /// codes before they become planes.
        private struct ImageBuffers {
            let image: UnsafeMutablePointer<Float>, columns: UnsafeMutablePointer<Float>
            let byteImage: UnsafeMutablePointer<UInt8>, byteColumns: UnsafeMutablePointer<UInt8>
            let stage: UnsafeMutablePointer<Float>, byteStage: UnsafeMutablePointer<UInt8>
            /// One image's output as planes, before it goes out channels-last.
            let outputs: UnsafeMutablePointer<Float>

            init(bytes: Bool, perImage: Int, unrolled: Int, staged: Bool, outputs: Int) {
                image = .allocate(capacity: bytes ? 0 : perImage)
                columns = .allocate(capacity: bytes ? 0 : unrolled)
                byteImage = .allocate(capacity: bytes ? perImage : 0)
                byteColumns = .allocate(capacity: bytes ? unrolled : 0)
                stage = .allocate(capacity: staged && !bytes ? perImage : 0)
                byteStage = .allocate(capacity: staged && bytes ? perImage : 0)
                self.outputs = .allocate(capacity: outputs)
            }

            func deallocate() {
                image.deallocate(); columns.deallocate(); byteImage.deallocate(); byteColumns.deallocate()
                stage.deallocate(); byteStage.deallocate(); outputs.deallocate()
            }
        }

        /// A linear layer: the batch's input vectors are the columns of one [in, N] code matrix; y [N, out].
        func linear(_ x: Tensor, outChannels M: Int, y: UnsafeMutablePointer<Float>) {
            let n = x.shape[0], K = layout.order.count
            let b = DatapathBuffers(inputs: K * n, accumulators: (M + 1) * n,
                                    scratch: array.scratchCount(positions: n, bits: bits, tileRows: tileRows))
            defer { b.deallocate() }
            CrossbarDatapath.codes(x.data, K * n, codeScale, into: b.raw)
            for i in 0..<n { for r in 0..<K { b.codes[r * n + i] = b.raw[i * K + layout.order[r]] } }
            array.accumulate(codes: b.codes, positions: n, bits: bits, groups: layout.groups, adc: adc, into: b.acc,
                             scratch: b.scratch)
            output.write(b.acc, n, 0, n, y, 1, M)
        }
    }
}
