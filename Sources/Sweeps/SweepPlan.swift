import Foundation
import RunConfiguration

/// The points of a sweep over config keys and how they are spread over MPI ranks.
///
/// `--grid quant.abits=1,2,4 --grid cim.device=sram,rram` gives the cartesian product in order, the first axis
/// slowest (abits=1/sram, abits=1/rram, abits=2/sram, …). The world is split into `groups` = min(points, ranks)
/// groups of consecutive ranks (`MPI_Comm_split`); group g trains points g, g + groups, g + 2·groups, … in turn,
/// each data-parallel over its ranks.
public struct SweepPlan: Sendable, Equatable {
    public struct Axis: Sendable, Equatable {
        public var key: String
        public var values: [String]
    }

    public let axes: [Axis]

    /// Parses `key=v1,v2,...` specifications (a key at most once; values non-empty, distinct).
    public init(grid: [String]) throws {
        var axes: [Axis] = []
        for spec in grid {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ConfigError.invalid(key: "--grid", value: spec, expected: "key.path=value1,value2,...")
            }
            let values = parts[1].split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard !values.isEmpty, values.allSatisfy({ !$0.isEmpty }) else {
                throw ConfigError.invalid(key: "--grid \(parts[0])", value: parts[1], expected: "a comma-separated list of values")
            }
            guard Set(values).count == values.count else {
                throw ConfigError.invalid(key: "--grid \(parts[0])", value: parts[1], expected: "distinct values")
            }
            guard !axes.contains(where: { $0.key == parts[0] }) else {
                throw ConfigError.invalid(key: "--grid", value: spec, expected: "each key in one --grid only")
            }
            axes.append(Axis(key: parts[0], values: values))
        }
        guard !axes.isEmpty else { throw ConfigError.invalid(key: "--grid", value: "", expected: "at least one --grid key=values") }
        self.axes = axes
    }

    public var count: Int { axes.reduce(1) { $0 * $1.values.count } }

    /// Point `i`'s (key, value) pairs, in axis order.
    public func point(_ i: Int) -> [(key: String, value: String)] {
        precondition(i >= 0 && i < count)
        var rest = i, out: [(String, String)] = []
        for a in axes.reversed() {
            out.append((a.key, a.values[rest % a.values.count]))
            rest /= a.values.count
        }
        return out.reversed()
    }

    /// Point `i` as `--set` overrides.
    public func overrides(_ i: Int) -> [String] { point(i).map { "\($0.key)=\($0.value)" } }

    /// A folder-safe label of point `i`: `abits4-device-sram` style, from the keys' last components.
    public func label(_ i: Int) -> String {
        point(i).map { p in
            let key = p.key.split(separator: ".").last.map(String.init) ?? p.key
            let v = p.value.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }
            return "\(key)-\(String(v))"
        }.joined(separator: "_")
    }

    // MARK: - Scheduling

    public static func groups(points: Int, ranks: Int) -> Int { Swift.max(1, Swift.min(points, ranks)) }

    /// The group of world rank `rank`: consecutive blocks of ranks (block sizes differ by at most one).
    public static func group(ofRank rank: Int, ranks: Int, groups: Int) -> Int { rank * groups / ranks }

    /// The points group `g` trains, in order.
    public static func points(ofGroup g: Int, groups: Int, points: Int) -> [Int] {
        Array(stride(from: g, to: points, by: groups))
    }
}
