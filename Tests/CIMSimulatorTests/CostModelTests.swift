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

    static func conv(_ cin: Int, _ cout: Int, kernel: Int = 3, size: Int = 8) -> LayerShape {
        LayerShape(name: "c\(cin)x\(cout)", kind: "conv", inChannels: cin, outChannels: cout, kernel: kernel, stride: 1,
                   inHeight: size, inWidth: size, outHeight: size, outWidth: size, binarized: true)
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

    /// `vgg8` is DNN+NeuroSim's VGG8 (NetWork_VGG8.csv) and `--width 4` ResNet-20 the ×4 network of the calibration
    /// set: the same layer rows as the network descriptions.
    func testZooModelsMatchNeuroSimsNetworks() throws {
        let vgg = try Self.shapes("vgg8", input: [3, 32, 32])
        let rows = vgg.map { [$0.inHeight, $0.inChannels, $0.kernel, $0.outChannels] }
        XCTAssertEqual(rows, [[32, 3, 3, 128], [32, 128, 3, 128], [16, 128, 3, 256], [16, 256, 3, 256],
                              [8, 256, 3, 512], [8, 512, 3, 512], [1, 8192, 1, 1024], [1, 1024, 1, 10]])
        XCTAssertEqual(vgg.map(\.binarized), [false, true, true, true, true, true, true, false])
        let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4)
        let wide = Mapping.layerShapes(of: try ModelZoo.make("resnet20", inputShape: [3, 32, 32], numClasses: 10,
                                                             quant: policy, width: 4))
        let csv = try NeuroSimCalibrationTests.network()
        XCTAssertEqual(wide.map { [$0.inChannels, $0.outChannels, $0.kernel, $0.stride, $0.positions] },
                       csv.map { [$0.inChannels, $0.outChannels, $0.kernel, $0.stride, $0.positions] })
        XCTAssertThrowsError(try ModelZoo.make("vgg8", inputShape: [3, 32, 32], numClasses: 10, width: 2))
    }

    func testKernelSplitAndConventionalRowGroups() {
        // Cin = 64 on 128 rows: one PE per kernel position, each summing the 64 channels of its position.
        let g = LayerMapping.rowGroups(inChannels: 64, kernel: 3, scheme: .kernelSplit, rows: 128)
        XCTAssertEqual(g.count, 9)
        XCTAssertTrue(g.allSatisfy { $0.count == 64 })
        XCTAssertEqual(g[4].prefix(3), [4, 13, 22], "position 4 takes rows c·9 + 4")
        XCTAssertEqual(Set(g.flatMap { $0 }), Set(0..<576), "every row exactly once")
        XCTAssertEqual(LayerMapping.rowGroups(inChannels: 256, kernel: 3, scheme: .kernelSplit, rows: 128).count, 18)
        let conventional = LayerMapping.rowGroups(inChannels: 300, kernel: 1, scheme: .conventional, rows: 128)
        XCTAssertEqual(conventional.map(\.count), [128, 128, 44])
        XCTAssertEqual(LayerMapping.scheme(Self.conv(3, 64), rows: 128), .conventional, "a thin first layer")
        XCTAssertEqual(LayerMapping.scheme(Self.conv(64, 64), rows: 128), .kernelSplit)
        XCTAssertEqual(LayerMapping.scheme(Self.conv(64, 64, kernel: 1), rows: 128), .conventional)
    }

    func testReferenceColumnTakesNoExtraBlock() {
        var c = CIMConfig()
        c.mode = .layerByLayer
        let plan = Floorplan([Self.conv(128, 128), Self.conv(128, 100)], inputBits: [4, 4], weightColumns: [1, 1],
                             config: c)
        XCTAssertEqual(plan.layers[0].columnTiles, 1, "128 outputs fill one block: Σx from a popcount")
        XCTAssertFalse(plan.layers[0].referenceColumn)
        XCTAssertEqual(plan.layers[0].columnsRead, 128)
        XCTAssertTrue(plan.layers[1].referenceColumn, "100 outputs leave a spare column for the reference")
        XCTAssertEqual(plan.layers[1].columnsRead, 101)
    }

    func testFP32LayersAreMappedWithMultiBitWeightsWhenAsked() throws {
        let shapes = try Self.shapes()
        var c = CIMConfig()
        c.mapFP32Layers = true
        let all = CostModel.chip(shapes, c)
        XCTAssertEqual(all.layers.count, 20); XCTAssertTrue(all.digital_layers.isEmpty); XCTAssertEqual(all.digital_macs, 0)
        let first = all.layers[0].mapping
        XCTAssertEqual([first.columnsPerWeight, first.inputBits], [8, 8], "8-bit weights over 8 columns, 8-bit pixels")
        XCTAssertEqual(all.layers[1].mapping.columnsPerWeight, 1)
        c.mapFP32Layers = false
        let binary = CostModel.chip(shapes, c)
        XCTAssertEqual(binary.layers.count, 18)
        XCTAssertEqual(binary.digital_layers.map(\.name), ["conv1", "fc"])
        XCTAssertGreaterThan(binary.digital_macs, 0)
        XCTAssertLessThan(binary.energy_pj.total, all.energy_pj.total)
    }

    func testChipTotalsAreSumsOverLayersAndTheJSONHasTotals() throws {
        let shapes = try Self.shapes()
        for device in DeviceKind.allCases {
            for mode in ExecutionMode.allCases {
                var c = CIMConfig()
                c.device = device; c.mode = mode
                let r = CostModel.chip(shapes, c)
                func close(_ a: Double, _ b: Double) { XCTAssertEqual(a, b, accuracy: 1e-9 * abs(b)) }
                close(r.energy_pj.total, r.layers.map(\.energy_pj.total).reduce(0, +))
                close(r.energy_pj.adc, r.layers.map(\.energy_pj.adc).reduce(0, +))
                close(r.area_mm2.total, r.layers.map(\.area_mm2.total).reduce(0, +))
                close(r.ops, 2 * Double(shapes.map(\.macs).reduce(0, +)))
                close(r.tops_per_w, r.ops / r.energy_pj.total)
                close(r.images_per_s, 1e9 / r.latency_ns)
                XCTAssertEqual(r.subarrays, r.layers.map(\.mapping.subarrays).reduce(0, +))
                let l = r.layers[5]
                close(l.energy_pj.total, l.energy_pj.array + l.energy_pj.wordline + l.energy_pj.adc + l.energy_pj.shift_add
                      + l.energy_pj.accumulation + l.energy_pj.buffer + l.energy_pj.interconnect + l.energy_pj.other
                      + l.energy_pj.leakage)
            }
        }
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        let json = try JSONSerialization.jsonObject(with: e.encode(CostModel.chip(shapes, CIMConfig()))) as! [String: Any]
        let energy = json["energy_pj"] as! [String: Double], area = json["area_mm2"] as! [String: Double]
        XCTAssertEqual(energy["total"]!, energy.filter { $0.key != "total" }.values.reduce(0, +), accuracy: 1e-6 * energy["total"]!)
        XCTAssertEqual(area["total"]!, area.filter { $0.key != "total" }.values.reduce(0, +), accuracy: 1e-9 * area["total"]!)
        XCTAssertNotNil(json["latency_ns"]); XCTAssertNotNil(json["bottleneck_layer"])
        let back = try JSONDecoder().decode(EnergyBreakdown.self, from: JSONSerialization.data(withJSONObject: energy))
        XCTAssertEqual(back.total, energy["total"]!, accuracy: 1e-6 * energy["total"]!)
    }

    func testPipelineDuplicatesFastLayersAndKeepsTheEnergy() throws {
        let shapes = try Self.shapes("resnet20", input: [3, 32, 32])
        var c = CIMConfig()
        c.mode = .layerByLayer
        let lbl = CostModel.chip(shapes, c)
        c.mode = .pipeline
        let pipe = CostModel.chip(shapes, c)
        XCTAssertTrue(pipe.layers.allSatisfy { [1, 2, 4].contains($0.mapping.copies) }, "powers of two up to max_copies")
        let first = pipe.layers[0], last16 = pipe.layers.first { $0.shape.outHeight == 16 }!
        XCTAssertEqual(first.mapping.copies, 1); XCTAssertGreaterThan(last16.mapping.copies, 1)
        XCTAssertLessThan(pipe.latency_ns, lbl.latency_ns / 3, "layers run concurrently")
        XCTAssertGreaterThan(pipe.area_mm2.array, lbl.area_mm2.array, "copies cost area")
        // Copies split the work: every event happens as often; only the wires of the larger chip grow.
        let work = { (r: ChipReport) in
            r.energy_pj.array + r.energy_pj.adc + r.energy_pj.shift_add + r.energy_pj.accumulation + r.energy_pj.buffer
        }
        XCTAssertEqual(work(pipe), work(lbl), accuracy: 1e-9 * work(lbl))
        XCTAssertGreaterThan(pipe.energy_pj.interconnect, lbl.energy_pj.interconnect)
        c.maxCopies = 1
        XCTAssertEqual(CostModel.chip(shapes, c).subarrays, lbl.subarrays)
    }

    func testADCsGrowWithTheirBitsAndMLSAIsTheDefault() throws {
        XCTAssertEqual(CIMConfig().adc, .mlsa)
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
        XCTAssertEqual(SARADC().conversionTime(bits: 5), 6 * 0.093, accuracy: 1e-12, "SAR: bits + 1 comparator cycles")
        XCTAssertEqual(MultilevelSenseAmp().energy(bits: 5, node: .nm22), 31 * 2e-3, accuracy: 1e-12, "31 sense amplifiers")
        // The clock follows the slowest sensing path: 8 muxed columns of 0.2 ns each plus the word line.
        XCTAssertEqual(SubarrayCircuit(CIMConfig()).clockPeriod, 0.1 + 8 * 0.2, accuracy: 1e-12)
        var four = CIMConfig()
        four.columnsPerADC = 4
        XCTAssertEqual(SubarrayCircuit(four).clockPeriod, 1, "the nominal 1 GHz clock when sensing is faster")
    }

    func testDevicesAreasAndHighVoltageFloorplan() throws {
        let a = DeviceKind.allCases.map { ($0, $0.model.cellAreaF2) }
        XCTAssertEqual(a.sorted { $0.1 > $1.1 }.map(\.0), [.sram, .fefet, .rram])
        XCTAssertEqual(SRAMCell().cellAreaF2, 280); XCTAssertEqual(RRAMCell().cellAreaF2, 48)
        let sram = SubarrayCircuit(CIMConfig()).area(inputBits: 4)
        var c = CIMConfig()
        c.device = .rram
        let rram = SubarrayCircuit(c).area(inputBits: 4)
        XCTAssertEqual(sram.unassigned, 0, "SRAM periphery fits the cell pitch")
        XCTAssertGreaterThan(rram.unassigned, 10 * rram.array, "thick-oxide drivers spread the 4F-pitch RRAM array")
        // A resistive column read: cell current V²/R during the sense time plus the bit line; SRAM: the bit line only.
        let r = RRAMCell()
        let e = r.columnReadEnergy(rows: 128, active: 0.25, senseTime: 0.15, node: .nm22)
        let cells = 128 * 0.25 * (0.5 / 100e3 + 0.5 / 1e6) * 0.25 * 0.15e-9 * 1e12
        XCTAssertEqual(e, cells + 128 * 0.1 * 0.25 * 1e-3, accuracy: 1e-12)
        XCTAssertEqual(SRAMCell().columnReadEnergy(rows: 128, active: 0.25, senseTime: 0.15, node: .nm22),
                       128 * 0.2 * 0.64 * 1e-3, accuracy: 1e-12)
    }

    func testNodeScalingShrinksAreaAndEnergy() throws {
        let shapes = try Self.shapes()
        var c = CIMConfig()
        let r = TechnologyNode.allCases.map { n -> ChipReport in c.node = n; return CostModel.chip(shapes, c) }
        XCTAssertLessThan(r[0].area_mm2.total, r[1].area_mm2.total); XCTAssertLessThan(r[1].area_mm2.total, r[2].area_mm2.total)
        XCTAssertLessThan(r[0].energy_pj.total, r[1].energy_pj.total); XCTAssertLessThan(r[1].energy_pj.total, r[2].energy_pj.total)
    }

    func testNetworkDescriptionErrorsNameTheLine() {
        let good = "ifm_h,ifm_w,ifm_c,kernel_h,kernel_w,ofm_c,pool_after,stride\n32,32,3,3,3,16,0,1\r\n1,1,16,1,1,10,0,1\n"
        let s = try? NetworkDescription.parse(good, file: "net.csv")
        XCTAssertEqual(s?.count, 2)
        XCTAssertEqual(s?[0].outHeight, 32, "same padding when the pad column is absent")
        XCTAssertEqual(s?[1].kind, "fc")
        for (text, needle) in [("32,32,3,3,3,16,0\n", "net.csv:1"), ("32,32,3,3,3,16,0,1\n32,32,x,3,3,16,0,1\n", "net.csv:2"),
                               ("32,32,3,3,5,16,0,1\n", "square kernel"), ("32,32,3,3,3,0,0,1\n", ">= 1"),
                               ("# only a comment\n", "no layer rows")] {
            XCTAssertThrowsError(try NetworkDescription.parse(text, file: "net.csv")) {
                XCTAssert("\($0)".contains(needle), "\($0) should mention \(needle)")
            }
        }
    }

    func testConfigValidationNamesTheKey() {
        var c = CIMConfig()
        c.columnsPerADC = 7
        XCTAssertThrowsError(try c.validate()) { XCTAssert("\($0)".contains("cols_per_adc")) }
        c = CIMConfig(); c.stuckAt0 = 0.7; c.stuckAt1 = 0.5
        XCTAssertThrowsError(try c.validate()) { XCTAssert("\($0)".contains("stuck_at")) }
        c = CIMConfig(); c.onOffRatio = 0.5
        XCTAssertThrowsError(try c.validate()) { XCTAssert("\($0)".contains("on_off_ratio")) }
        c = CIMConfig(); c.maxCopies = 0
        XCTAssertThrowsError(try c.validate()) { XCTAssert("\($0)".contains("max_copies")) }
        XCTAssertNoThrow(try CIMConfig().validate())
    }
}
