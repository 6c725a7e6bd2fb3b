import CIMSimulator
import Foundation
import Models
import Quantization
import TensorEngine
import XCTest

final class CostModelTests: XCTestCase {
    static func shapes(_ arch: String = "resnet20", input: [Int] = [1, 28, 28]) throws -> [LayerShape] {
        let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4)
        return Mapping.layerShapes(of: try ModelZoo.make(arch, inputShape: input, numClasses: 10, quant: policy))
    }

    func testShapesOfResNet20() throws {
        let s = try Self.shapes()
        XCTAssertEqual(s.count, 20)
        XCTAssertFalse(s.first!.binarized); XCTAssertFalse(s.last!.binarized)
        XCTAssertEqual(s.filter(\.binarized).count, 18)
        let l = s.first { $0.name == "layer3.2.conv2" }!
        XCTAssertEqual([l.rows, l.outChannels, l.positions], [576, 64, 49])
        let d = s.first { $0.name == "layer2.0.conv1" }!
        XCTAssertEqual([d.inHeight, d.outHeight, d.stride], [28, 14, 2], "strided convolution")
    }

    func testMappingTilesAndUtilisation() {
        let s = LayerShape(name: "x", kind: "conv", inChannels: 64, outChannels: 64, kernel: 3, stride: 1, inHeight: 7,
                           inWidth: 7, outHeight: 7, outWidth: 7, binarized: true)
        let m = LayerMapping(s, rows: 128, columns: 128)
        XCTAssertEqual([m.rowTiles, m.columnTiles, m.subarrays], [5, 1, 5])
        XCTAssertEqual(m.utilization, Double(576 * 65) / Double(5 * 128 * 128), accuracy: 1e-12)
        let wide = LayerShape(name: "y", kind: "fc", inChannels: 100, outChannels: 300, kernel: 1, stride: 1,
                              inHeight: 1, inWidth: 1, outHeight: 1, outWidth: 1, binarized: true)
        let w = LayerMapping(wide, rows: 128, columns: 128)
        XCTAssertEqual([w.rowTiles, w.columnTiles], [1, 3], "301 columns (with the reference) need 3 column tiles")
    }

    func testLatencyAndArrayEnergyGrowLinearlyWithActivationBits() throws {
        let shapes = try Self.shapes()
        for device in DeviceKind.allCases {
            var c = CIMConfig()
            c.device = device
            let r = (1...8).map { k -> ChipReport in c.activationBits = k; return CostModel.chip(shapes, c) }
            let lat = r.map(\.latency_ns), arr = r.map(\.energy_pj.array)
            for v in [lat, arr] {
                let d = v[1] - v[0]
                XCTAssertGreaterThan(d, 0)
                for k in 1..<7 { XCTAssertEqual(v[k + 1] - v[k], d, accuracy: 1e-9 * v[7], "\(device) affine in k") }
            }
            XCTAssertEqual(arr[7] / arr[0], 8, accuracy: 1e-9, "array energy ∝ k (one read per bit-plane)")
        }
    }

    func testADCEnergyAndAreaGrowWithADCBits() throws {
        let shapes = try Self.shapes()
        for kind in ADCKind.allCases {
            for node in TechnologyNode.allCases {
                let m = kind.model
                for b in 1..<10 {
                    XCTAssertGreaterThan(m.energy(bits: b + 1, node: node), m.energy(bits: b, node: node))
                    XCTAssertGreaterThan(m.area(bits: b + 1, node: node), m.area(bits: b, node: node))
                }
            }
            var c = CIMConfig()
            c.adc = kind
            let r = (3...8).map { b -> ChipReport in c.adcBits = b; return CostModel.chip(shapes, c) }
            for i in 1..<r.count {
                XCTAssertGreaterThan(r[i].energy_pj.adc, r[i - 1].energy_pj.adc)
                XCTAssertGreaterThan(r[i].area_mm2.adc, r[i - 1].area_mm2.adc)
            }
        }
        XCTAssertEqual(SARADC().latency(bits: 5, clockHz: 1e9), 6, "SAR: bits + 1 cycles")
        XCTAssertEqual(FlashADC().latency(bits: 5, clockHz: 1e9), 1)
    }

    func testChipTotalsAreSumsOverLayers() throws {
        let shapes = try Self.shapes()
        for device in DeviceKind.allCases {
            var c = CIMConfig()
            c.device = device; c.adc = device == .rram ? .flash : .sar
            let r = CostModel.chip(shapes, c)
            XCTAssertEqual(r.layers.count, 18)
            XCTAssertEqual(r.digital_layers.map(\.name), ["conv1", "fc"])
            func close(_ a: Double, _ b: Double) { XCTAssertEqual(a, b, accuracy: 1e-9 * abs(b)) }
            close(r.energy_pj.total, r.layers.map(\.energy_pj.total).reduce(0, +))
            close(r.energy_pj.adc, r.layers.map(\.energy_pj.adc).reduce(0, +))
            close(r.area_mm2.total, r.layers.map(\.area_mm2.total).reduce(0, +))
            close(r.latency_ns, r.layers.map(\.latency_ns).reduce(0, +))
            close(r.ops, 2 * Double(shapes.filter(\.binarized).map(\.macs).reduce(0, +)))
            close(r.tops_per_w, r.ops / r.energy_pj.total)
            close(r.images_per_s, 1e9 / r.latency_ns)
            XCTAssertEqual(r.subarrays, r.layers.map(\.mapping.subarrays).reduce(0, +))
            // Components add up to each layer's total.
            let l = r.layers[5]
            close(l.energy_pj.total, l.energy_pj.array + l.energy_pj.wordline + l.energy_pj.adc + l.energy_pj.shift_add
                  + l.energy_pj.accumulation + l.energy_pj.buffer + l.energy_pj.interconnect)
        }
    }

    func testCellAreaOrderingFollowsTheSources() throws {
        // DNN+NeuroSim: SRAM 160 F², 1T1R RRAM 16 F²; 1FeFET 5.3x denser than SRAM (Reis et al. 2021).
        let a = DeviceKind.allCases.map { ($0, $0.model.cellAreaF2) }
        XCTAssertEqual(a.sorted { $0.1 > $1.1 }.map(\.0), [.sram, .fefet, .rram])
        let shapes = try Self.shapes()
        var c = CIMConfig()
        let array = DeviceKind.allCases.map { d -> Double in c.device = d; return CostModel.chip(shapes, c).area_mm2.array }
        XCTAssertGreaterThan(array[0], array[2]); XCTAssertGreaterThan(array[2], array[1])
        for node in TechnologyNode.allCases {
            XCTAssertEqual(SRAMCell().cellArea(node: node), 160 * pow(Double(node.rawValue) * 1e-3, 2), accuracy: 1e-12)
        }
    }

    func testNodeScalingShrinksAreaAndEnergy() throws {
        let shapes = try Self.shapes()
        var c = CIMConfig()
        let r = TechnologyNode.allCases.map { n -> ChipReport in c.node = n; return CostModel.chip(shapes, c) }
        XCTAssertLessThan(r[0].area_mm2.total, r[1].area_mm2.total); XCTAssertLessThan(r[1].area_mm2.total, r[2].area_mm2.total)
        XCTAssertLessThan(r[0].energy_pj.total, r[1].energy_pj.total); XCTAssertLessThan(r[1].energy_pj.total, r[2].energy_pj.total)
    }

    func testConfigValidationNamesTheKey() {
        var c = CIMConfig()
        c.columnsPerADC = 7
        XCTAssertThrowsError(try c.validate()) { XCTAssert("\($0)".contains("cols_per_adc")) }
        c = CIMConfig(); c.stuckAt0 = 0.7; c.stuckAt1 = 0.5
        XCTAssertThrowsError(try c.validate()) { XCTAssert("\($0)".contains("stuck_at")) }
        c = CIMConfig(); c.onOffRatio = 0.5
        XCTAssertThrowsError(try c.validate()) { XCTAssert("\($0)".contains("on_off_ratio")) }
        XCTAssertNoThrow(try CIMConfig().validate())
    }
}
