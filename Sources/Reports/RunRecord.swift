import Foundation
import Yams

/// What a run folder holds, read back for the report: config.yaml, metrics.jsonl, summary.json, cim/report.json.
/// Reading is tolerant — a run in progress has no summary yet, an FP32 run no CIM report, and a line cut short by a
/// crash is skipped — because the report describes whatever the run has produced so far.
public struct RunRecord {
    /// A metrics.jsonl line of kind "epoch" (`Trainer.EpochMetrics`).
    public struct Epoch: Decodable {
        public var epoch: Int
        public var lr: Double
        public var train_loss: Double, train_accuracy: Double
        public var test_loss: Double, test_accuracy: Double
        public var images_per_s: Double, epoch_s: Double
        public var comm_wait_share: Double
        public var data_wait_share: Double?
        public var hardware_accuracy: Double?
    }

    /// A metrics.jsonl line of kind "step" (`StepMetrics`).
    public struct Step: Decodable {
        public var step: Int, epoch: Int
        public var lr: Double, loss: Double, images_per_s: Double
    }

    /// summary.json (`Trainer.Summary`).
    public struct Summary: Decodable {
        public var test_accuracy: Double
        public var epochs: Int, ranks: Int
        public var images_per_s: Double, wall_s: Double
        public var model: String
        public var parameters: Int
        public var peak_rss_mb: Double
    }

    /// cim/report.json (`CIMRunReport` with its `ChipReport`, snake_case keys). Breakdowns are read as dictionaries
    /// (block → value), so a new circuit block shows up in the report without a change here.
    public struct CIM: Decodable {
        public var epoch: Int
        public var software_accuracy: Double
        public var hardware_accuracy: Double?
        public var crossbar_layers: [String]
        public var chip: Chip
    }

    public struct Chip: Decodable {
        public var config: ChipConfig
        public var layers: [Layer]
        public var digital_layers: [Shape]
        public var energy_pj: Breakdown
        public var area_mm2: Breakdown
        public var latency_ns: Double
        public var ops: Double
        public var tops_per_w: Double
        public var tops_per_mm2: Double
        public var images_per_s: Double
        public var subarrays: Int
        public var digital_macs: Int
    }

    public struct ChipConfig: Decodable {
        public var device: String
        public var node: Int
        public var subarray_rows: Int, subarray_columns: Int
        public var adc_bits: Int
        public var adc: String
        public var columns_per_adc: Int
        public var activation_bits: Int
        public var variation: Double?
        public var stuck_at_0: Double?, stuck_at_1: Double?
    }

    public struct Layer: Decodable {
        public var shape: Shape
        public var mapping: Mapping
        public var energy_pj: Breakdown
        public var area_mm2: Breakdown
        public var latency_ns: Double
        public var ops: Double
        public var adcs: Int
    }

    public struct Shape: Decodable {
        public var name: String
        public var kind: String
        public var in_channels: Int, out_channels: Int
        public var kernel: Int, stride: Int
        public var out_height: Int, out_width: Int
        public var rows: Int { in_channels * kernel * kernel }
        public var positions: Int { out_height * out_width }
    }

    public struct Mapping: Decodable {
        public var row_tiles: Int, column_tiles: Int
        public var utilization: Double
        /// Allocated subarrays (with pipeline copies) and the mapping scheme; absent in reports before both.
        public var subarrays: Int?
        public var scheme: String?
    }

    /// A cost breakdown (block → value) as the report's JSON has it, without its `total` (the sum of the blocks).
    public struct Breakdown: Decodable {
        public var parts: [String: Double]
        public init(from decoder: Decoder) throws {
            parts = try [String: Double](from: decoder)
            parts.removeValue(forKey: "total")
        }
        public var values: Dictionary<String, Double>.Values { parts.values }
        public subscript(key: String) -> Double? { parts[key] }
        public func map<T>(_ f: ((key: String, value: Double)) throws -> T) rethrows -> [T] { try parts.map(f) }
    }

    public var folder: URL
    /// config.yaml as written (empty when missing).
    public var configYAML: String
    /// The config parsed (nil when missing or unreadable).
    public var config: [String: Any]?
    public var epochs: [Epoch] = []
    public var steps: [Step] = []
    public var summary: Summary?
    public var cim: CIM?

    /// Reads `folder`. `fallbackConfig` stands in for a missing config.yaml (a run started from code).
    public init(folder: URL, fallbackConfig: String? = nil) {
        self.folder = folder
        func read(_ name: String) -> Data? { try? Data(contentsOf: folder.appendingPathComponent(name)) }
        configYAML = read("config.yaml").map { String(decoding: $0, as: UTF8.self) } ?? fallbackConfig ?? ""
        config = (try? Yams.load(yaml: configYAML)) as? [String: Any]
        let d = JSONDecoder()
        if let m = read("metrics.jsonl") {
            for line in m.split(separator: UInt8(ascii: "\n")) {
                let l = Data(line)
                if let e = try? d.decode(Epoch.self, from: l), (try? d.decode(Kind.self, from: l))?.kind == "epoch" {
                    epochs.append(e)
                } else if let s = try? d.decode(Step.self, from: l) {
                    steps.append(s)
                }
            }
        }
        // A resumed run appends: keep the last line of each epoch and step.
        epochs = Dictionary(epochs.map { ($0.epoch, $0) }, uniquingKeysWith: { $1 }).values.sorted { $0.epoch < $1.epoch }
        steps = Dictionary(steps.map { ($0.step, $0) }, uniquingKeysWith: { $1 }).values.sorted { $0.step < $1.step }
        summary = read("summary.json").flatMap { try? d.decode(Summary.self, from: $0) }
        cim = read("cim/report.json").flatMap { try? d.decode(CIM.self, from: $0) }
    }

    struct Kind: Decodable { var kind: String }

    // MARK: - Config values

    /// A config value by dotted key ("model.arch"), as text.
    public func setting(_ key: String) -> String? {
        var node: Any? = config
        for part in key.split(separator: ".") { node = (node as? [String: Any])?[String(part)] }
        guard let node else { return nil }
        return "\(node)"
    }

    public var name: String { setting("name") ?? folder.lastPathComponent }
}
