import CIMSimulator
import Foundation
import Plots

// Redraws the plots of docs/img from the sweep CSVs in docs/data with the current plot code:
//   swift build -c release --product docplots && .build/release/docplots   (from the repository root)
// docs/data/fmnist_cim_sweep.csv        `bwma sweep` (docs/results.md)       → fmnist_cim_sweep_accuracy_vs_{energy,area,latency}.svg
// docs/data/cim_resnet20_accuracy_sweep.csv  `bwma cim sweep --checkpoint`    → cim_resnet20_accuracy_vs_energy.svg
// docs/data/cim_resnet18_sweep.csv      `bwma cim sweep --model resnet18`    → cim_resnet18_energy_vs_abits.svg

/// A CSV file that is not a sweep: names the file and the problem.
struct CSVError: Error, CustomStringConvertible {
    let description: String
}

/// The rows of a `bwma cim sweep` or `bwma sweep` CSV (columns found by name; accuracy: `hw_accuracy` or
/// `hardware_accuracy`).
func rows(_ path: String) throws -> [Sweep.Row] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CSVError(description: "\(path): cannot read") }
    let lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    guard let header = lines.first else { throw CSVError(description: "\(path): empty") }
    func column(_ names: String...) throws -> Int {
        guard let i = names.lazy.compactMap({ header.firstIndex(of: $0) }).first else {
            throw CSVError(description: "\(path): no column \(names.joined(separator: " or "))")
        }
        return i
    }
    let dev = try column("device"), k = try column("abits"), adc = try column("adc_bits")
    let e = try column("energy_pj_per_image"), a = try column("area_mm2"), l = try column("latency_ns")
    let t = try column("tops_per_w"), acc = try column("hw_accuracy", "hardware_accuracy")
    return try lines.dropFirst().enumerated().map { n, f in
        guard f.count == header.count, let d = DeviceKind(rawValue: f[dev]), let kb = Int(f[k]), let ab = Int(f[adc]),
              let en = Double(f[e]), let ar = Double(f[a]), let la = Double(f[l]), let tw = Double(f[t]) else {
            throw CSVError(description: "\(path): line \(n + 2) is not a sweep row")
        }
        return Sweep.Row(point: Sweep.Point(device: d, activationBits: kb, adcBits: ab), energy_pj: en, array_pj: .nan,
                         adc_pj: .nan, area_mm2: ar, latency_ns: la, images_per_s: la > 0 ? 1e9 / la : 0, tops_per_w: tw,
                         tops_per_mm2: .nan, accuracy: Double(f[acc]))
    }
}

let chip = Sweep.sharedChip(CIMConfig())
let jobs: [(csv: String, subject: String, plots: [String: String])] = [
    ("fmnist_cim_sweep.csv", "ResNet-20 W1A1–8 on Fashion-MNIST, trained CIM-aware on SRAM · \(chip), 5-bit ADCs",
     ["accuracy_vs_energy.svg": "fmnist_cim_sweep_accuracy_vs_energy.svg",
      "accuracy_vs_area.svg": "fmnist_cim_sweep_accuracy_vs_area.svg",
      "accuracy_vs_latency.svg": "fmnist_cim_sweep_accuracy_vs_latency.svg"]),
    ("cim_resnet20_accuracy_sweep.csv", "ResNet-20 W1A4 on Fashion-MNIST, requantized to A2–A8 · \(chip)",
     ["accuracy_vs_energy.svg": "cim_resnet20_accuracy_vs_energy.svg"]),
    ("cim_resnet18_sweep.csv", "ResNet-18 at 3×224×224 (analytic) · \(chip)",
     ["energy_vs_abits.svg": "cim_resnet18_energy_vs_abits.svg"]),
]
do {
    for job in jobs {
        let r = try rows("docs/data/\(job.csv)")
        for (file, svg) in Sweep.plots(r, subject: job.subject) {
            guard let target = job.plots[file] else { continue }
            try Data(svg.utf8).write(to: URL(fileURLWithPath: "docs/img/\(target)"), options: .atomic)
            print("wrote docs/img/\(target)")
        }
    }
} catch {
    FileHandle.standardError.write(Data("Error: \(error) (run from the repository root)\n".utf8))
    exit(1)
}
