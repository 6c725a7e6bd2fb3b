import ArgumentParser
import CIMSimulator
import Data
import Distributed
import Foundation
import Models
import Quantization
import TensorEngine
import Training

/// `bwma cim report|sweep`: the compute-in-memory simulator (docs/cim.md).
struct CIM: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate the model on a compute-in-memory chip: cost report and hardware sweeps.",
        subcommands: [Report.self, SweepCommand.self])

    /// Chip settings shared by both subcommands.
    struct Hardware: ParsableArguments {
        @Option(help: "ADC architecture: mlsa (multi-level sense amplifier, NeuroSim's default), sar, flash.")
        var adc = ADCKind.mlsa
        @Option(help: "Execution mode: layer-by-layer (no duplication) or pipeline (fast layers duplicated).")
        var mode = ExecutionMode.layerByLayer
        @Option(name: .customLong("map-fp32-layers"),
                help: "Map the FP32 first/last layers too, with 8-bit weights over 8 columns (true/false).")
        var mapFP32Layers = true
        @Option(help: "Pipeline mode: copies of one layer at most.")
        var maxCopies = 4
        @Option(help: "Technology node in nm.")
        var node = TechnologyNode.nm22
        @Option(help: "Subarray rows = columns.")
        var subarray = 128
        @Option(help: "Columns sharing one ADC.")
        var colsPerAdc = 8
        @Option(help: "ADC full scale as a fraction of the subarray rows, (0, 1].")
        var adcRange = 1.0
        @Option(help: "Log-normal conductance variation sigma (hardware-aware inference).")
        var variation = 0.0
        @Option(name: .customLong("stuck-at-0"), help: "Probability of a cell stuck off.")
        var stuckAt0 = 0.0
        @Option(name: .customLong("stuck-at-1"), help: "Probability of a cell stuck on.")
        var stuckAt1 = 0.0
        @Option(help: "G_on/G_off (0: the device's published value).")
        var onOffRatio = 0.0
        @Option(help: "Seed of the variation and fault draws.")
        var seed: UInt64 = 0
        @Option(help: "Use only the first N test images for hardware-aware accuracy (0 = all).")
        var limitTest = 0
        @Option(help: "Worker threads.")
        var threads = 1

        /// The validated chip config; errors name the flag.
        func config(device: DeviceKind, abits: Int, adcBits: Int) throws -> CIMConfig {
            var c = CIMConfig()
            c.device = device; c.adc = adc; c.node = node; c.subarrayRows = subarray; c.subarrayColumns = subarray
            c.columnsPerADC = colsPerAdc; c.adcRange = adcRange; c.activationBits = abits; c.adcBits = adcBits
            c.variation = variation; c.stuckAt0 = stuckAt0; c.stuckAt1 = stuckAt1; c.onOffRatio = onOffRatio
            c.seed = seed; c.mode = mode; c.mapFP32Layers = mapFP32Layers; c.maxCopies = maxCopies
            do { try c.validate() } catch CIMError.invalid(let key, let value, let expected) {
                let flag = ["subarray_columns": "subarray", "adc_bits": "adc-bits", "cols_per_adc": "cols-per-adc",
                            "adc_range": "adc-range", "stuck_at_0": "stuck-at-0", "stuck_at_1": "stuck-at-1",
                            "on_off_ratio": "on-off-ratio", "max_copies": "max-copies"][key] ?? key
                throw ValidationError("--\(flag): got \(value), expected \(expected)")
            }
            return c
        }

        func validateCommon() throws {
            guard threads >= 1 else { throw ValidationError("--threads must be >= 1, got \(threads)") }
            guard limitTest >= 0 else { throw ValidationError("--limit-test must be >= 0, got \(limitTest)") }
            _ = try config(device: .sram, abits: 4, adcBits: 5)
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Area, energy, latency and efficiency of one chip; with --checkpoint also the hardware-aware accuracy.")

        @Option(help: "A run folder with config.yaml and parameters.f32 (runtime.save_parameters: true).")
        var checkpoint: String?
        @Option(help: "Model name for an analytic report (\(ModelZoo.names.joined(separator: ", "))).")
        var model: String?
        @Option(help: "Per-sample input shape CxHxW (with --model).")
        var input: String?
        @OptionGroup var network: NetworkSource
        @Option(help: "Activation bits, 1...8.")
        var abits: Int
        @Option(help: "Memory device.")
        var device: DeviceKind
        @Option(help: "ADC bits.")
        var adcBits = 5
        @OptionGroup var hardware: Hardware
        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        func validate() throws {
            guard [checkpoint != nil, model != nil, network.network != nil].filter({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --checkpoint PATH, --model NAME (with --input CxHxW) or "
                                      + "--network FILE")
            }
            try network.validate(model: model)
            if model != nil {
                guard let input else { throw ValidationError("--model needs --input CxHxW (e.g. 3x32x32)") }
                _ = try parseShape(input)
            }
            guard (1...8).contains(abits) else { throw ValidationError("--abits must be in 1...8, got \(abits)") }
            try hardware.validateCommon()
            _ = try hardware.config(device: .sram, abits: abits, adcBits: adcBits)
        }

        func run() throws {
            try withCommunicator { comm in
                Runtime.configure(threads: hardware.threads)
                let hw = try hardware.config(device: device, abits: abits, adcBits: adcBits)
                var softwareAccuracy: Double?, hardwareAccuracy: Double?, swSeconds: Double?, hwSeconds: Double?
                let shapes: [LayerShape]
                if let checkpoint {
                    let t = try trainedEvaluation(checkpoint, abits: abits, limitTest: hardware.limitTest)
                    shapes = Mapping.layerShapes(of: t.model)
                    let (a, b, ts, th) = try t.accuracies(hw, comm: comm)
                    (softwareAccuracy, hardwareAccuracy, swSeconds, hwSeconds) = (a, b, ts, th)
                } else if let model {
                    shapes = try analyticShapes(model, input: try parseShape(input!), abits: abits, width: network.width)
                } else {
                    shapes = try network.shapes()
                }
                guard shapes.contains(where: \.binarized) else {
                    throw CLIError("the model has no binarized layer with k-bit inputs: nothing to map")
                }
                let chip = CostModel.chip(shapes, hw)
                guard comm.rank == 0 else { return }
                struct Out: Encodable {
                    let software_accuracy: Double?, hardware_accuracy: Double?
                    /// Wall time of the software and the hardware-aware test pass (rank 0).
                    let software_inference_s: Double?, hardware_inference_s: Double?
                    let chip: ChipReport
                }
                if json {
                    let e = JSONEncoder()
                    e.outputFormatting = [.sortedKeys]
                    e.keyEncodingStrategy = .convertToSnakeCase
                    print(String(decoding: try e.encode(Out(software_accuracy: softwareAccuracy,
                                                            hardware_accuracy: hardwareAccuracy,
                                                            software_inference_s: swSeconds,
                                                            hardware_inference_s: hwSeconds, chip: chip)),
                                 as: UTF8.self))
                } else {
                    printError(CostModel.table(chip))
                    printError(CostModel.breakdownTable(chip))
                }
                printError(String(format: "%@ W1A%d, %d-bit %@ ADC, %d nm: %.4g pJ/image (ADC %.1f %%), %.4g mm², "
                                  + "%.4g µs/image, %.1f images/s, %.2f TOPS/W, %.3f TOPS/mm²%@",
                                  hw.device.rawValue, abits, hw.adcBits, hw.adc.rawValue, hw.node.rawValue,
                                  chip.energy_pj.total, 100 * chip.energy_pj.adc / chip.energy_pj.total,
                                  chip.area_mm2.total, chip.latency_ns / 1000, chip.images_per_s, chip.tops_per_w,
                                  chip.tops_per_mm2,
                                  hardwareAccuracy.map {
                                      String(format: "; test accuracy %.4f software, %.4f hardware-aware (%.2f s vs %.2f s)",
                                             softwareAccuracy ?? .nan, $0, swSeconds ?? .nan, hwSeconds ?? .nan)
                                  } ?? ""))
            }
        }
    }
}

/// The layer shapes of a zoo model with BWMA W1A`abits` (first and last layer FP32, the default policy).
func analyticShapes(_ name: String, input: [Int], abits: Int, width: Int = 1) throws -> [LayerShape] {
    let policy = try QuantPolicy(weights: .bwma, activations: .bwma, abits: abits)
    let m: Model
    do { m = try ModelZoo.make(name, inputShape: input, numClasses: 10, quant: policy, width: width) } catch {
        throw CLIError("--model: \(error)")
    }
    return Mapping.layerShapes(of: m)
}

/// The trained model and test loader of `--checkpoint`, with errors naming the flag.
func trainedEvaluation(_ path: String, abits: Int?, limitTest: Int) throws -> TrainedEvaluation {
    do { return try TrainedEvaluation(path, activationBits: abits, limitTest: limitTest, log: printError) } catch {
        throw CLIError("--checkpoint: \(error)")
    }
}

/// `--network FILE` (a DNN+NeuroSim network CSV) and `--width N` (the CIFAR ResNets' width multiplier, with --model).
struct NetworkSource: ParsableArguments {
    @Option(help: "A network description in DNN+NeuroSim's CSV format; every layer binary with k-bit inputs.")
    var network: String?
    @Option(help: "Width multiplier of the CIFAR ResNets (with --model resnetN).")
    var width = 1

    func validate(model: String?) throws {
        guard width >= 1 && width <= 64 else { throw ValidationError("--width must be in 1...64, got \(width)") }
        let cifarResNet = model.map { $0.lowercased().hasPrefix("resnet") && $0.lowercased() != "resnet18" } ?? false
        guard width == 1 || cifarResNet else {
            throw ValidationError("--width applies to --model with a CIFAR ResNet (resnet20, resnet32, ...)")
        }
    }

    func shapes() throws -> [LayerShape] {
        do { return try NetworkDescription.load(network!) } catch { throw CLIError("--network: \(error)") }
    }
}
