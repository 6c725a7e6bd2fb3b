import ArgumentParser
import CIMSimulator
import Quantization

// Command-line values are the library's own enums: ArgumentParser parses them, lists their cases in `--help`, and
// names the flag and the choices in its error, so no option's allowed values are written twice.
extension DeviceKind: ExpressibleByArgument {}
extension ADCKind: ExpressibleByArgument {}
extension ExecutionMode: ExpressibleByArgument {}
extension TechnologyNode: ExpressibleByArgument {}

/// `bwma bench step --quant`: which binarizer and activation quantizer the benchmarked model uses.
enum BenchQuant: String, CaseIterable, ExpressibleByArgument {
    case fp32
    /// BWN weights + uniform-STE (DoReFa) activations.
    case bwn
    /// BWMA weights and activations.
    case bwma

    func policy(abits: Int) throws -> QuantPolicy {
        switch self {
        case .fp32: return .fp32
        case .bwn: return try QuantPolicy(weights: .bwn, activations: .uniformSTE, abits: abits)
        case .bwma: return try QuantPolicy(weights: .bwma, activations: .bwma, abits: abits)
        }
    }
}
