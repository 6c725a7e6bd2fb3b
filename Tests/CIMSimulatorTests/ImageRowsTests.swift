import CIMSimulator
import Foundation
import Models
import TensorEngine
import XCTest

/// The popcount route reading a convolution's input codes where they lie in padded channel planes
/// (`CrossbarDatapath.readsImageRows`) against the unrolled copy `orderedColumns` writes: the same accumulators, so
/// the same outputs bit for bit — lossy ADCs of several resolutions, row groups that are and are not multiples of 8
/// and 32, images that share a GEMM, strides 1 and 2, one and two threads; where the geometry does not allow it
/// (output rows narrower than 7 positions) the unrolled route runs.
final class ImageRowsTests: XCTestCase {
    override func setUpWithError() throws {
        EngineContext.configure(threads: 1, backend: .onednn, precision: .fp32)
        guard EngineContext.usesDNNL, CrossbarArray.imageRowsAvailable else {
            throw XCTSkip("no popcount image route on this CPU (oneDNN ISA \(DNNL.isaName))")
        }
    }

    override func tearDown() { EngineContext.configure(threads: 1, backend: .reference, precision: .fp32) }

    func testImageRowsGiveTheUnrolledRoutesBitsExactly() throws {
        // (Cin, H, W, ADC bits, stride): kernel-split groups of 16 / 32 / 64 rows, conventional tiles of Cin·9 = 180
        // rows (a partial 8-row block at the end); 8×8 images share a GEMM; 4×4 cannot be read so; stride 2 (the
        // even bytes of 16) onto 8×8 and 8×16 outputs, and onto 4×4, which cannot. Output rows off the blocks of 8
        // (Fashion-MNIST's 28, 14 and 7; 9 and 12): blocks that end one row and start the next, of the same image or
        // the next, and a last block past the images' end (5 × 49 positions).
        let cases: [(Int, Int, Int, Int, Int)] = [
            (16, 8, 8, 5, 1), (20, 8, 16, 3, 1), (64, 16, 8, 5, 1), (32, 8, 8, 4, 1), (16, 4, 4, 5, 1),
            (16, 16, 16, 5, 2), (32, 16, 32, 3, 2), (64, 16, 16, 4, 2), (20, 8, 8, 5, 2),
            (16, 28, 28, 5, 1), (32, 14, 14, 4, 1), (64, 7, 7, 5, 1), (16, 6, 9, 3, 1), (16, 28, 28, 5, 2),
            (32, 14, 14, 3, 2), (64, 10, 24, 5, 2), (16, 6, 6, 5, 1), (16, 12, 12, 5, 2),
        ]
        for (k, (cin, h, w, adcBits, stride)) in cases.enumerated() {
            let (conv, store) = try TestLayers.binarizedConv(inChannels: cin, outChannels: 9, seed: UInt64(30 + k),
                                                             stride: stride)
            let outW = w / stride
            defer { withExtendedLifetime(store) {} }
            let x = TestLayers.reluInput([5, cin, h, w], seed: UInt64(40 + k))
                .converted(to: .nhwc, using: Tensor(shape: [0]))
            _ = conv.forward(x, training: true)
            var config = CIMConfig()
            config.adcBits = adcBits
            for threads in [1, 2] {
                EngineContext.threads = threads
                var outputs: [[UInt32]] = []
                for images in [true, false] {
                    let chip = CrossbarDatapath(config: config, layerIndex: 0)
                    chip.integerShortcut = false  // the crossbar's own route, also for the lossless ADC
                    chip.readsImageRows = images
                    conv.datapath = chip
                    outputs.append(conv.forward(x, training: false).array.map(\.bitPattern))
                    let readable = outW >= 7
                    XCTAssertEqual(chip.lastReadImageRows, images && readable, "case \(k)")
                }
                XCTAssertEqual(outputs[0], outputs[1], "case \(k), \(threads) threads")
                XCTAssertTrue(outputs[0].contains { Float(bitPattern: $0) != 0 }, "case \(k)")
            }
            conv.datapath = nil
        }
    }

    /// The channels-last output (`bwma_output_channels_last`: the digital step and the transpose in one pass) is the
    /// planar route's bit for bit — image rows and unrolled columns, one and several row groups, kernel-split
    /// groups, images sharing a pass with a partial 16-position tail, channel counts off the 16-wide tiles, one and
    /// two threads.
    func testChannelsLastOutputsAreThePlanarRoutes() throws {
        // (Cin, H, W, Cout, images)
        let cases: [(Int, Int, Int, Int, Int)] = [
            (16, 8, 8, 16, 5), (16, 5, 5, 16, 3), (32, 8, 8, 33, 2), (64, 8, 8, 16, 2), (20, 6, 6, 7, 3),
        ]
        for (k, (cin, h, w, cout, n)) in cases.enumerated() {
            let (conv, store) = try TestLayers.binarizedConv(inChannels: cin, outChannels: cout, seed: UInt64(60 + k))
            defer { withExtendedLifetime(store) {} }
            let x = TestLayers.reluInput([n, cin, h, w], seed: UInt64(70 + k))
                .converted(to: .nhwc, using: Tensor(shape: [0]))
            var config = CIMConfig()
            config.adcBits = 5
            for threads in [1, 2] {
                EngineContext.threads = threads
                var outputs: [[UInt32]] = []
                for channelsLast in [true, false] {
                    let chip = CrossbarDatapath(config: config, layerIndex: 0)
                    chip.channelsLast = channelsLast
                    conv.datapath = chip
                    outputs.append(conv.forward(x, training: false).planarArray.map(\.bitPattern))
                    XCTAssertEqual(conv.path, .datapath(channelsLast: channelsLast))
                }
                XCTAssertEqual(outputs[0], outputs[1], "case \(k), \(threads) threads")
                XCTAssertTrue(outputs[0].contains { Float(bitPattern: $0) != 0 }, "case \(k)")
            }
            conv.datapath = nil
        }
    }
}
