import ArgumentParser
import CIMSimulator
import Data
import Distributed
import Foundation
import Models
import Quantization
import TensorEngine
import Training

extension CIM {
    struct SweepCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sweep",
            abstract: "Sweep activation bits x devices x ADC bits; points are split over the MPI ranks, rank 0 writes "
                + "the CSV and SVG plots.")

        @Option(help: "Model name for the analytic sweep.")
        var model: String?
        @Option(help: "Per-sample input shape CxHxW (analytic sweep).")
        var input = "3x32x32"
        @Option(help: "A run folder (config.yaml + parameters.f32): adds hardware-aware accuracy per point.")
        var checkpoint: String?
        @OptionGroup var network: NetworkSource
        @Option(help: "Activation bits: a range 1-8 or a list.")
        var abits = "1-8"
        @Option(help: "Devices, comma separated.")
        var devices = "sram,rram,fefet"
        @Option(help: "ADC bits: a list or range.")
        var adcBits = "3,4,5"
        @Option(help: "Output CSV; the plots are written next to it.")
        var out: String
        @OptionGroup var hardware: Hardware
        @Flag(help: "Print one JSON object (rows, knee) on stdout.")
        var json = false

        func validate() throws {
            guard [checkpoint != nil, model != nil, network.network != nil].filter({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --model NAME, --checkpoint PATH or --network FILE")
            }
            try network.validate(model: model)
            if model != nil { _ = try parseShape(input) }
            do {
                _ = try Sweep.parseInts(abits, flag: "--abits", range: 1...8)
                _ = try Sweep.parseInts(adcBits, flag: "--adc-bits", range: 1...12)
                _ = try Sweep.parseDevices(devices, flag: "--devices")
            } catch { throw ValidationError("\(error)") }
            guard !out.isEmpty else { throw ValidationError("--out must name a CSV file") }
            try hardware.validateCommon()
        }

        func run() throws {
            try withCommunicator { comm in
                Runtime.configure(threads: hardware.threads)
                let ks = try Sweep.parseInts(abits, flag: "--abits", range: 1...8)
                let adcs = try Sweep.parseInts(adcBits, flag: "--adc-bits", range: 1...12)
                let devs = try Sweep.parseDevices(devices, flag: "--devices")
                let points = Sweep.points(devices: devs, activationBits: ks, adcBits: adcs)
                let base = try hardware.config(device: .sram, abits: ks[0], adcBits: adcs[0])
                let start = ProcessClock.now()
                var setups: [Int: TrainedEvaluation] = [:]
                var shapes: [LayerShape]
                if let checkpoint {
                    let t = try trainedEvaluation(checkpoint, abits: nil, limitTest: hardware.limitTest)
                    shapes = Mapping.layerShapes(of: t.model)
                } else if let model {
                    shapes = try analyticShapes(model, input: try parseShape(input), abits: ks[0], width: network.width)
                } else {
                    shapes = try network.shapes()
                }
                guard shapes.contains(where: \.binarized) else {
                    throw CLIError("the model has no binarized layer with k-bit inputs: nothing to map")
                }
                let rows = try Sweep.run(points: points, rank: comm.rank, ranks: comm.size,
                                         gather: { try comm.gather($0) }) { p in
                    var row = Sweep.analytic(p, shapes: shapes, base: base)
                    if let checkpoint {
                        if setups[p.activationBits] == nil {
                            setups[p.activationBits] = try trainedEvaluation(checkpoint, abits: p.activationBits,
                                                                        limitTest: hardware.limitTest)
                        }
                        row.accuracy = try setups[p.activationBits]!.hardwareAccuracy(Sweep.config(p, base: base))
                    }
                    return row
                }
                guard comm.rank == 0, let rows else { return }
                let seconds = ProcessClock.now() - start
                let written = try Sweep.write(rows, base: base, to: URL(fileURLWithPath: out),
                                              subject: model.map { "\($0), input \(input)" }
                                                ?? network.network.map { "network \($0)" }
                                                ?? "trained model \(checkpoint ?? "")")
                let (url, plots, knee) = (written.csv, written.plots, written.knee)
                printError(String(format: "cim sweep: %d points on %d rank(s) in %.3f s -> %@ (+ %d plots)", rows.count,
                                  comm.size, seconds, url.path, plots.count))
                if let knee {
                    printError("knee: \(knee.activationBits)-bit activations (\(knee.basis)): \(knee.explanation)")
                }
                if json {
                    struct Out: Encodable {
                        let points: Int, ranks: Int, seconds: Double, csv: String, plots: [String]
                        let knee_abits: Int?, knee_basis: String?
                    }
                    let e = JSONEncoder()
                    e.outputFormatting = [.sortedKeys]
                    print(String(decoding: try e.encode(Out(points: rows.count, ranks: comm.size, seconds: seconds,
                                                            csv: url.path, plots: plots,
                                                            knee_abits: knee?.activationBits, knee_basis: knee?.basis)),
                                 as: UTF8.self))
                }
            }
        }
    }
}
