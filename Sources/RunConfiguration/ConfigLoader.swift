import Foundation
import Yams

/// Loads a run configuration: YAML file → `--set key.path=value` overrides → schema check (unknown keys, with a
/// suggestion for typos; wrong types) → `RunConfig.validate()` ranges. Every error names the file and the key.
///
/// The schema is the default `RunConfig` itself, encoded to a YAML node: a key is known iff the defaults have it, and
/// a value must have the default's kind (mapping, sequence or scalar).
public enum ConfigLoader {
    /// A config that cannot be loaded: where (`source`: the file, or `--set key=value`), the key to blame when there
    /// is one, and what is wrong; `config` keeps the validation error (`ConfigError`) when that is the cause, so a
    /// caller can still tell which key and value failed. The message is "source: key: problem".
    public struct LoadError: Error, CustomStringConvertible {
        public let source: String
        public let key: String?
        public let problem: String
        public let config: ConfigError?

        public init(_ source: String, key: String? = nil, _ problem: String, config: ConfigError? = nil) {
            self.source = source; self.key = key; self.problem = problem; self.config = config
        }

        public var description: String { ([source] + (key.map { [$0] } ?? [])).joined(separator: ": ") + ": " + problem }

        /// A validation failure of the config read from `source`.
        static func validation(_ error: Error, in source: String) -> LoadError {
            guard let e = error as? ConfigError else { return LoadError(source, "\(error)") }
            if case .invalid(let key, let value, let expected) = e {
                return LoadError(source, key: key, "'\(value)' is not valid; expected \(expected)", config: e)
            }
            return LoadError(source, "\(e)", config: e)
        }
    }

    public static func load(path: String, overrides: [String]) throws -> RunConfig {
        guard FileManager.default.fileExists(atPath: path) else {
            throw LoadError(path, "config file not found")
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw LoadError(path, "cannot read (\(error.localizedDescription))")
        }
        var node: Node
        do {
            node = try YAMLLimits.compose(text, source: path) ?? Node.mapping([:])
        } catch let e as LoadError { throw e } catch {
            throw LoadError(path, "not valid YAML: \(error)")
        }
        guard node.mapping != nil else { throw LoadError(path, "the top level must be a mapping of keys") }
        let schema = try Yams.compose(yaml: try YAMLEncoder().encode(RunConfig()))!
        for o in overrides { try apply(override: o, to: &node, schema: schema) }
        try check(node, against: schema, path: [], file: path)
        let config: RunConfig
        do {
            // Keys the file leaves out take their defaults: decode the file laid over the defaults.
            let merged = merge(node, over: schema)
            config = try YAMLDecoder().decode(RunConfig.self, from: try Yams.serialize(node: merged))
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw LoadError(path, key: keyPath(ctx.codingPath + [key]), "missing")
        } catch let DecodingError.typeMismatch(type, ctx), let DecodingError.valueNotFound(type, ctx) {
            throw LoadError(path, key: keyPath(ctx.codingPath), "expected \(describe(type))")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw LoadError(path, key: keyPath(ctx.codingPath), ctx.debugDescription)
        }
        do { try config.validate() } catch { throw LoadError.validation(error, in: path) }
        return config
    }

    /// `user` with every key it lacks filled in from `defaults`, recursively through mappings.
    static func merge(_ user: Node, over defaults: Node) -> Node {
        guard var m = defaults.mapping, let um = user.mapping else { return user }
        for (k, v) in um { m[k] = m[k].map { merge(v, over: $0) } ?? v }
        return Node.mapping(m)
    }

    /// `a.b=c`: sets key path a.b to the YAML scalar c (so `true`, `0.1`, `[1, 2]` keep their types).
    static func apply(override: String, to node: inout Node, schema: Node) throws {
        guard let eq = override.firstIndex(of: "="), eq != override.startIndex else {
            throw LoadError("--set \(override)", "expected key.path=value")
        }
        let keys = override[..<eq].split(separator: ".").map(String.init)
        let valueText = String(override[override.index(after: eq)...])
        if let p = YAMLLimits.problem(valueText) {
            let shown = override.count > 80 ? override.prefix(80) + "…" : Substring(override)
            throw LoadError("--set \(shown)", "YAML refused: \(p)")
        }
        let value = (try? YAMLLimits.compose(valueText, source: "--set")) ?? nil ?? Node.scalar(.init(valueText))
        // Known path?
        var s: Node? = schema
        for (i, k) in keys.enumerated() {
            guard let m = s?.mapping else { break }
            guard let next = m[Node(k)] else {
                let known = Array(m.keys.compactMap(\.string))
                throw LoadError("--set \(override)", "unknown key '\(keys[...i].joined(separator: "."))'\(suggestion(k, known))")
            }
            s = next
        }
        node = set(node, keys[...], value)
    }

    private static func set(_ node: Node, _ keys: ArraySlice<String>, _ value: Node) -> Node {
        guard let k = keys.first else { return value }
        var m = node.mapping ?? Node.Mapping([])
        let child = m[Node(k)] ?? Node.mapping([:])
        m[Node(k)] = set(child, keys.dropFirst(), value)
        return Node.mapping(m)
    }

    /// Unknown keys and kind mismatches (mapping vs scalar vs sequence).
    static func check(_ node: Node, against schema: Node, path: [String], file: String) throws {
        switch (node, schema) {
        case (.mapping(let m), .mapping(let sm)):
            let known = Array(sm.keys.compactMap(\.string))
            var seen = Set<String>()
            for (k, v) in m {
                guard let key = k.string else {
                    throw LoadError(file, key: keyPath(path), "keys must be strings")
                }
                guard seen.insert(key).inserted else {
                    throw LoadError(file, "duplicate key '\((path + [key]).joined(separator: "."))' "
                        + "(YAML would silently keep one of the values; remove the other)")
                }
                guard let sv = sm[k] else {
                    throw LoadError(file, "unknown key '\((path + [key]).joined(separator: "."))'\(suggestion(key, known))")
                }
                try check(v, against: sv, path: path + [key], file: file)
            }
        case (.mapping, _):
            throw LoadError(file, key: keyPath(path), "expected a single value, found a mapping")
        case (_, .mapping):
            throw LoadError(file, key: keyPath(path), "expected a mapping of keys, found '\(node.any)'")
        case (.scalar, .sequence):
            throw LoadError(file, key: keyPath(path), "expected a list like [1, 2], found '\(node.any)'")
        default:
            return
        }
    }

    static func keyPath(_ path: [String]) -> String { path.isEmpty ? "(top level)" : path.joined(separator: ".") }

    static func keyPath(_ path: [CodingKey]) -> String {
        keyPath(path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue })
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type: return "an integer"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default: return "\(type)"
        }
    }

    /// ", did you mean 'x'?" for the closest known key within edit distance 2.
    static func suggestion(_ key: String, _ known: [String]) -> String {
        let best = known.map { ($0, editDistance(key, $0)) }.min { $0.1 < $1.1 }
        if let (k, d) = best, d <= 2 { return "; did you mean '\(k)'?" }
        return "; known keys: \(known.sorted().joined(separator: ", "))"
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var prev = Array(0...b.count)
        for i in 1...Swift.max(a.count, 1) where !a.isEmpty {
            var cur = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...Swift.max(b.count, 1) where !b.isEmpty {
                cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return a.isEmpty ? b.count : prev[b.count]
    }
}

extension Node {
    /// The scalar's text or a short rendering, for messages.
    var any: String { scalar?.string ?? (sequence.map { _ in "a list" } ?? "a mapping") }
}

extension RunConfig {
    /// This configuration with `--set key=value` overrides applied and validated (for commands that start from a
    /// stored config: `eval`); errors name `source`.
    public func applying(_ overrides: [String], source: String) throws -> RunConfig {
        guard !overrides.isEmpty else { return self }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("bwma-config-\(getpid()).yaml")
        try YAMLEncoder().encode(self).write(to: tmp, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: tmp) }
        do { return try ConfigLoader.load(path: tmp.path, overrides: overrides) } catch let e as ConfigLoader.LoadError {
            throw ConfigLoader.LoadError(e.source == tmp.path ? source : e.source, key: e.key,
                                         e.problem.replacingOccurrences(of: tmp.path, with: source), config: e.config)
        }
    }
}
