import CIMSimulator
import Foundation
import XCTest

/// The cost model against DNN+NeuroSim V1.4's own run of the ResNet-20 ×4 layer stack (docs/data/neurosim-v1.4,
/// docs/cim.md §Agreement with NeuroSim): energy, latency and area per image within ±30 % at every activation
/// width, SRAM and RRAM, pipeline and layer-by-layer, and NeuroSim's trends.
final class NeuroSimCalibrationTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/data/neurosim-v1.4").standardized

    struct Reference {
        var device: DeviceKind, mode: ExecutionMode, k: Int
        var area: Double, latency: Double, energy: Double
    }

    /// The `default` and `lbl` rows of calibration.csv.
    static func references() throws -> [Reference] {
        let text = try String(contentsOf: folder.appendingPathComponent("calibration.csv"), encoding: .utf8)
        let lines = text.split(whereSeparator: \.isNewline)
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = lines[0]
        func col(_ name: String) -> Int { header.firstIndex(of: name)! }
        return lines.dropFirst().compactMap { r in
            guard r[col("variant")] != "instr" else { return nil }
            return Reference(device: r[col("memcell")] == "SRAM" ? .sram : .rram,
                             mode: r[col("mode")] == "pipeline" ? .pipeline : .layerByLayer,
                             k: Int(r[col("act_bits")])!, area: Double(r[col("chip_area_mm2")])!,
                             latency: Double(r[col("read_latency_per_image_ns")])!,
                             energy: Double(r[col("read_total_energy_per_image_pJ")])!)
        }
    }

    static func network() throws -> [LayerShape] {
        try NetworkDescription.load(folder.appendingPathComponent("resnet20w4_network.csv").path)
    }

    /// NeuroSim's settings of the calibration runs: 22 nm, 128 × 128, 5-bit MLSA per 8 columns.
    static func config(_ device: DeviceKind, _ mode: ExecutionMode, _ k: Int) -> CIMConfig {
        var c = CIMConfig()
        c.device = device; c.mode = mode; c.activationBits = k
        c.adc = .mlsa; c.adcBits = 5; c.columnsPerADC = 8; c.node = .nm22
        c.subarrayRows = 128; c.subarrayColumns = 128
        return c
    }

    func testNetworkDescriptionParses() throws {
        let s = try Self.network()
        XCTAssertEqual(s.count, 20)
        XCTAssertEqual([s[0].inChannels, s[0].outChannels, s[0].kernel, s[0].positions], [3, 64, 3, 1024])
        XCTAssertEqual([s[7].stride, s[7].outHeight, s[7].outChannels], [2, 16, 128], "the strided 64 → 128 layer")
        XCTAssertEqual(s.last!.kind, "fc"); XCTAssertEqual(s.last!.rows, 256)
        XCTAssertTrue(s.allSatisfy(\.binarized))
        // MACs with padding and strides: NeuroSim's true_ops_per_image = 1.287e9 = 2 × MACs.
        XCTAssertEqual(2 * Double(s.map(\.macs).reduce(0, +)), 1.287e9, accuracy: 1e6)
    }

    func testEnergyLatencyAndAreaWithin30PercentOfNeuroSim() throws {
        let shapes = try Self.network()
        let refs = try Self.references()
        XCTAssertEqual(refs.count, 15, "10 pipeline (SRAM, RRAM × k = 1, 2, 4, 6, 8) and 5 layer-by-layer rows")
        for r in refs {
            let chip = CostModel.chip(shapes, Self.config(r.device, r.mode, r.k))
            print(String(format: "calibration %@ %@ k=%d: energy %.3g pJ (%.2fx), latency %.4g ns (%.2fx), area %.3g mm² (%.2fx)",
                         r.device.rawValue, r.mode.rawValue, r.k, chip.energy_pj.total, chip.energy_pj.total / r.energy,
                         chip.latency_ns, chip.latency_ns / r.latency, chip.area_mm2.total, chip.area_mm2.total / r.area))
            if ProcessInfo.processInfo.environment["BWMA_CALIBRATION_DETAIL"] != nil {
                print("  energy", chip.energy_pj, "\n  area", chip.area_mm2, "\n  subarrays", chip.subarrays, "tiles", chip.tiles,
                      "clock", chip.clock_ns, "bottleneck", chip.bottleneck_layer)
            }
            for (what, ours, theirs) in [("energy", chip.energy_pj.total, r.energy), ("latency", chip.latency_ns, r.latency),
                                         ("area", chip.area_mm2.total, r.area)] {
                let ratio = ours / theirs
                XCTAssert(ratio > 0.7 && ratio < 1.3, String(format: "%@ %@ k=%d %@: ours %.4g, NeuroSim %.4g (%.2fx)",
                                                           r.device.rawValue, r.mode.rawValue, r.k, what, ours, theirs, ratio))
            }
        }
    }

    func testNeuroSimTrends() throws {
        let shapes = try Self.network()
        let ks = [1, 2, 4, 6, 8]
        for device in [DeviceKind.sram, .rram] {
            let pipe = ks.map { CostModel.chip(shapes, Self.config(device, .pipeline, $0)) }
            // Dynamic energy is affine in k: the increments per bit agree within 10 %.
            let dyn: [Double] = pipe.map { $0.energy_pj.total - $0.energy_pj.leakage }
            var slopes: [Double] = []
            for i in 1..<ks.count { slopes.append((dyn[i] - dyn[i - 1]) / Double(ks[i] - ks[i - 1])) }
            let mean = slopes.reduce(0, +) / Double(slopes.count)
            for s in slopes { XCTAssertEqual(s / mean, 1, accuracy: 0.15, "\(device): energy affine in k") }
            // Pipeline latency depends weakly on k (NeuroSim: 1.3–1.4x from 1 to 8 bits) — far less than 8x.
            let growth = pipe.last!.latency_ns / pipe[0].latency_ns
            XCTAssert(growth > 1.1 && growth < 2, "\(device): pipeline latency grows \(growth)x from k = 1 to 8")
        }
        for k in ks {
            let sram = CostModel.chip(shapes, Self.config(.sram, .pipeline, k)).area_mm2.total
            let rram = CostModel.chip(shapes, Self.config(.rram, .pipeline, k)).area_mm2.total
            XCTAssert(rram / sram > 3 && rram / sram < 4.5, "k=\(k): RRAM area \(rram / sram)x SRAM's (NeuroSim 3.2–3.8x)")
        }
        // Layer-by-layer latency is the sum over layers, pipeline the slowest layer's.
        let lbl = CostModel.chip(shapes, Self.config(.sram, .layerByLayer, 4))
        XCTAssertEqual(lbl.latency_ns, lbl.layers.map(\.latency_ns).reduce(0, +), accuracy: 1e-6 * lbl.latency_ns)
        let pipe = CostModel.chip(shapes, Self.config(.sram, .pipeline, 4))
        XCTAssertEqual(pipe.latency_ns, pipe.layers.map(\.latency_ns).max()!, accuracy: 1e-9)
        XCTAssertEqual(pipe.bottleneck_layer, pipe.layers.max { $0.latency_ns < $1.latency_ns }!.shape.name)
        XCTAssertTrue(lbl.layers.allSatisfy { $0.mapping.copies == 1 }, "layer-by-layer: no duplication")
        XCTAssertGreaterThan(pipe.subarrays, lbl.subarrays, "pipeline duplicates the fast layers")
    }
}
