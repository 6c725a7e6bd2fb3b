import CIMSimulator
import Foundation
import Models
import Quantization
import TensorEngine
import XCTest

/// An ideal chip (ideal cells, lossless ADC) runs a binarized convolution as the layer's exact integer kernel on
/// oneDNN (`LayerDatapath.reproducesIntegerForward`): bit for bit what the crossbar datapath's own GEMMs give, and
/// only when it is exact. A datapath in training takes oneDNN's backward, with the same gradients as the software
/// layer.
final class IntegerShortcutTests: XCTestCase {
    override func setUpWithError() throws {
        EngineContext.configure(threads: 1, backend: .onednn, precision: .fp32)
        guard EngineContext.usesDNNL else { throw XCTSkip("oneDNN does not run on this CPU") }
    }

    override func tearDown() { EngineContext.configure(threads: 1, backend: .reference, precision: .fp32) }

    func input(_ shape: [Int], seed: UInt64) -> Tensor { TestLayers.reluInput(shape, seed: seed) }

    func conv(inChannels cin: Int, outChannels cout: Int, seed: UInt64) throws -> (Conv2d, ParameterStore) {
        try TestLayers.binarizedConv(inChannels: cin, outChannels: cout, seed: seed)
    }

    func testIdealChipRunsAsTheIntegerKernelBitForBit() throws {
        // Cin = 20: one 180-row conventional tile pair; Cin = 64: the kernel-split mapping (groups of 64 rows).
        for (cin, seed) in [(20, UInt64(2)), (64, 12)] {
            let (conv, store) = try conv(inChannels: cin, outChannels: 7, seed: seed)
            defer { withExtendedLifetime(store) {} }  // the layer's parameters live in the store's arena
            let x = input([3, cin, 6, 5], seed: seed + 1)
            _ = conv.forward(x, training: true)
            var ideal = CIMConfig()
            ideal.adcBits = 8  // 255 levels ≥ 128 rows: lossless
            let chip = CrossbarDatapath(config: ideal, layerIndex: 0)
            conv.datapath = chip
            let shortcut = conv.forward(x, training: false).planarArray
            XCTAssertEqual(conv.path, .integer, "Cin \(cin): the ideal chip runs as the integer kernel")
            chip.integerShortcut = false
            let own = conv.forward(x, training: false).planarArray
            XCTAssertEqual(conv.path, .datapath(channelsLast: true))
            XCTAssertEqual(shortcut, own, "Cin \(cin): the crossbar's own GEMMs give the same bits")
            XCTAssertGreaterThan(own.map(abs).max()!, 0)
        }
    }

    func testOnlyAnExactChipTakesTheShortcut() throws {
        let (conv, store) = try conv(inChannels: 16, outChannels: 4, seed: 5)
        defer { withExtendedLifetime(store) {} }
        let x = input([2, 16, 5, 5], seed: 6)
        _ = conv.forward(x, training: true)
        var lossy = CIMConfig(); lossy.adcBits = 5
        var varied = CIMConfig(); varied.adcBits = 8; varied.variation = 0.05
        var leaky = CIMConfig(); leaky.adcBits = 8; leaky.device = .rram
        var faulty = CIMConfig(); faulty.adcBits = 8; faulty.stuckAt0 = 0.01
        for (what, config) in [("5-bit ADC", lossy), ("variation", varied), ("RRAM on/off", leaky),
                               ("stuck-at faults", faulty)] {
            conv.datapath = CrossbarDatapath(config: config, layerIndex: 0)
            _ = conv.forward(x, training: false)
            XCTAssertEqual(conv.path, .datapath(channelsLast: true), what)
        }
    }

    /// CIM-aware training: the forward through a lossy, noisy crossbar, the backward on oneDNN from the datapath's
    /// output gradient: the same gradients as the software layer given the same output gradient. And a
    /// channels-last input (as batch norm hands it over in training) takes the channels-last route — input codes
    /// transposed as bytes, output written channels-last, no conversion in backward — with the same numbers.
    func testDatapathBackwardOnOneDNNIsTheSoftwareBackward() throws {
        let (conv, store) = try conv(inChannels: 16, outChannels: 8, seed: 12)
        let planar = input([2, 16, 5, 5], seed: 13)
        let nhwc = planar.converted(to: .nhwc, using: Tensor(shape: [0]))
        var rng = RNG(seed: 14)
        let dy = Tensor(shape: [2, 8, 5, 5])
        for i in 0..<dy.count { dy.data[i] = rng.normal() }
        func step(_ datapath: LayerDatapath?, _ x: Tensor) -> (y: [Float], dx: [Float], dw: [Float]) {
            conv.datapath = datapath
            store.zeroGrad()
            let y = conv.forward(x, training: true).planarArray
            // The output gradient in the layout of the forward's output.
            let g = conv.path == .datapath(channelsLast: false)
                ? dy : dy.converted(to: .nhwc, using: Tensor(shape: [0]))
            let dx = conv.backward(g).planarArray
            return (y, dx, conv.weight.grads)
        }
        let software = step(nil, planar)
        XCTAssertEqual(conv.path, .integer)
        var noisy = CIMConfig()
        noisy.adcBits = 3; noisy.variation = 0.2
        let hardware = step(CrossbarDatapath(config: noisy, layerIndex: 0), planar)
        XCTAssertEqual(conv.path, .datapath(channelsLast: true))
        XCTAssertNotEqual(hardware.y, software.y, "the forward went through the lossy crossbar")
        XCTAssertEqual(hardware.dx, software.dx)
        XCTAssertEqual(hardware.dw, software.dw)
        var lossy = CIMConfig()
        lossy.adcBits = 4  // ideal cells: the byte route
        for config in [noisy, lossy] {
            let nchwChip = CrossbarDatapath(config: config, layerIndex: 0)
            nchwChip.channelsLast = false
            let nchwRoute = step(nchwChip, nhwc)
            XCTAssertEqual(conv.path, .datapath(channelsLast: false))
            for x in [planar, nhwc] {
                let route = step(CrossbarDatapath(config: config, layerIndex: 0), x)
                XCTAssertEqual(conv.path, .datapath(channelsLast: true))
                XCTAssertEqual(route.y, nchwRoute.y, "the same outputs from either layout")
                XCTAssertEqual(route.dx, nchwRoute.dx)
                XCTAssertEqual(route.dw, nchwRoute.dw)
            }
        }
    }

    /// A binarized convolution hands the chip its input as the quantizer's codes (`readsCodes`): the same outputs
    /// and gradients as from the quantized values, on every input route — padded images (8 x 8), unrolled columns
    /// (5 x 5), the Float GEMMs of varied cells — from NCHW and channels-last inputs. And in bf16 the backward then
    /// reads those codes as the software layer's does, so CIM-aware training gets exactly its gradients.
    func testCodesRouteIsTheValuesRoute() throws {
        var (conv, store) = try conv(inChannels: 16, outChannels: 8, seed: 21)
        defer { withExtendedLifetime(store) {} }
        func step(_ datapath: LayerDatapath?, _ x: Tensor) -> (y: [Float], dx: [Float], dw: [Float]) {
            conv.datapath = datapath
            store.zeroGrad()
            let y = conv.forward(x, training: true)
            let dy = Tensor(shape: y.shape)
            dy.layout = y.layout
            var rng = RNG(seed: 22)
            for i in 0..<dy.count { dy.data[i] = rng.normal() }
            let dx = conv.backward(dy).planarArray
            return (y.planarArray, dx, conv.weight.grads)
        }
        var lossy = CIMConfig(); lossy.adcBits = 4
        var noisy = CIMConfig(); noisy.adcBits = 5; noisy.variation = 0.1
        for side in [8, 5] {
            let planar = input([2, 16, side, side], seed: 23)
            for x in [planar, planar.converted(to: .nhwc, using: Tensor(shape: [0]))] {
                for config in [lossy, noisy] {
                    let chip = CrossbarDatapath(config: config, layerIndex: 0)
                    let codes = step(chip, x)
                    XCTAssertEqual(chip.lastReadImageRows, side == 8 && config.hasIdealCells)
                    chip.takesCodes = false
                    let values = step(chip, x)
                    let what = "\(side) x \(side), \(x.layout), variation \(config.variation)"
                    XCTAssertEqual(codes.y, values.y, what)
                    XCTAssertEqual(codes.dx, values.dx, what)
                    XCTAssertEqual(codes.dw, values.dw, what)
                }
            }
        }
        EngineContext.configure(threads: 1, backend: .onednn, precision: .bf16)
        guard EngineContext.precision == .bf16 else { return }
        (conv, store) = try self.conv(inChannels: 16, outChannels: 8, seed: 21)  // a layer made in bf16
        let x = input([2, 16, 8, 8], seed: 23).converted(to: .nhwc, using: Tensor(shape: [0]))
        let software = step(nil, x), chip = step(CrossbarDatapath(config: lossy, layerIndex: 0), x)
        XCTAssertNotEqual(chip.y, software.y, "the forward went through the lossy crossbar")
        XCTAssertEqual(chip.dx, software.dx)
        XCTAssertEqual(chip.dw, software.dw, "bf16: the weight gradient of the codes, as the software layer's")
    }

    /// In bf16 mixed precision a convolution that feeds a batch norm stores its output in bf16
    /// (`Conv2d.outputFeedsBatchNorm`), on the chip as on the integer kernel: the chip's bf16 output is its Float
    /// output rounded to nearest even, an ideal chip's own datapath still equals the integer kernel it shortcuts to,
    /// and the gradients are the software layer's.
    func testChipStoresABatchNormsInputInBF16() throws {
        EngineContext.configure(threads: 1, backend: .onednn, precision: .bf16)
        guard EngineContext.precision == .bf16 else { throw XCTSkip("no bf16 on this CPU") }
        let (conv, store) = try conv(inChannels: 16, outChannels: 16, seed: 31)
        defer { withExtendedLifetime(store) {} }
        let x = input([2, 16, 8, 8], seed: 32).converted(to: .nhwc, using: Tensor(shape: [0]))
        func step(_ datapath: LayerDatapath?, bf16: Bool) -> (y: [Float], type: Tensor.ElementType, dx: [Float],
                                                              dw: [Float]) {
            conv.datapath = datapath
            conv.outputFeedsBatchNorm = bf16
            store.zeroGrad()
            let y = conv.forward(x, training: true)
            let out = (y.planarArray, y.elementType)
            let dy = Tensor(shape: y.shape)
            dy.layout = y.layout
            var rng = RNG(seed: 33)
            for i in 0..<dy.count { dy.data[i] = rng.normal() }
            let dx = conv.backward(dy).planarArray
            return (out.0, out.1, dx, conv.weight.grads)
        }
        var lossy = CIMConfig(); lossy.adcBits = 4
        let chip = CrossbarDatapath(config: lossy, layerIndex: 0)
        let float = step(chip, bf16: false), stored = step(chip, bf16: true), software = step(nil, bf16: true)
        XCTAssertEqual(float.type, .float32)
        XCTAssertEqual(stored.type, .bfloat16)
        XCTAssertEqual(stored.y, float.y.map { BFloat16($0).float }, "the Float output rounded to bf16")
        XCTAssertNotEqual(stored.y, software.y, "the forward went through the lossy chip")
        XCTAssertEqual(stored.dx, software.dx)
        XCTAssertEqual(stored.dw, software.dw)
        var ideal = CIMConfig(); ideal.adcBits = 8
        let exact = CrossbarDatapath(config: ideal, layerIndex: 0)
        let shortcut = step(exact, bf16: true)
        XCTAssertEqual(conv.path, .integer)
        exact.integerShortcut = false
        let own = step(exact, bf16: true)
        XCTAssertEqual(conv.path, .datapath(channelsLast: true))
        XCTAssertEqual(own.type, .bfloat16)
        XCTAssertEqual(own.y, shortcut.y, "the ideal chip's own bf16 output is the integer kernel's")
        XCTAssertEqual(own.y, software.y)
    }
}
