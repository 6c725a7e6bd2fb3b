import Yams

/// Limits on YAML text checked before it reaches the parser: Yams builds its node tree recursively (10,000 nested
/// brackets overflow the stack) and expands aliases by copying (a few hundred bytes of "billion laughs" become
/// gigabytes). A config needs none of that, so a cheap scan of the text refuses it first, and the composed tree is
/// counted with a budget before anything walks it.
public enum YAMLLimits {
    /// Largest config text (a file, a stored checkpoint config) in bytes.
    public static let maxBytes = 1 << 20
    /// Deepest nesting of flow collections (`[`, `{`) and, separately, of block collections (indentation, `- `).
    public static let maxDepth = 64
    /// Most `[` and `{` in the whole text (quoted or not): bounds the nesting whatever the scan misreads.
    public static let maxOpenBrackets = 4096
    /// Most anchors (`&name`) and most alias uses (`*name`).
    public static let maxAnchors = 16
    public static let maxAliases = 16
    /// Most nodes of the composed tree with every alias expanded.
    public static let maxNodes = 100_000

    /// Why `text` is refused (nil: it is within the limits). Quoted scalars and comments are skipped when counting
    /// depth and aliases; anchors and opening brackets are counted everywhere.
    public static func problem(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count <= maxBytes else { return "\(bytes.count) bytes of YAML; at most \(maxBytes) are read" }
        var scan = Scan(bytes: bytes)
        scan.run()
        if scan.opens > maxOpenBrackets { return "\(scan.opens) opening brackets; at most \(maxOpenBrackets)" }
        if scan.maxFlow > maxDepth { return "brackets nested \(scan.maxFlow) deep; at most \(maxDepth)" }
        if scan.maxBlock > maxDepth { return "blocks nested \(scan.maxBlock) deep; at most \(maxDepth)" }
        if scan.anchors > maxAnchors { return "\(scan.anchors) anchors (&name); at most \(maxAnchors)" }
        if scan.aliases > maxAliases { return "\(scan.aliases) aliases (*name); at most \(maxAliases)" }
        return nil
    }

    /// One pass over the bytes: bracket and block depth, anchors, aliases (not a YAML parser: it only has to bound
    /// what the parser will meet).
    struct Scan {
        let bytes: [UInt8]
        var flow = 0, maxFlow = 0, opens = 0, anchors = 0, aliases = 0, maxBlock = 0
        var quote: UInt8? = nil, comment = false
        var atLineStart = true, indentStack: [Int] = [], column = 0

        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

        func tokenStart(_ i: Int) -> Bool {
            i == 0 || isSpace(bytes[i - 1]) || [UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","),
                                                 UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "?")].contains(bytes[i - 1])
        }

        mutating func run() {
            var i = 0
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "[") || b == UInt8(ascii: "{") { opens += 1 }
                if b == UInt8(ascii: "&") && tokenStart(i) { anchors += 1 }
                if b == 0x0A {
                    comment = false; atLineStart = true; column = 0; i += 1
                    continue
                }
                if atLineStart && quote == nil && flow == 0 && !comment { blockLine(at: i) }
                atLineStart = false
                column += 1
                i = comment ? i + 1 : step(at: i)
            }
        }

        /// Block structure at a line's start: the indentation stack, plus one level per leading "- " or "? ".
        mutating func blockLine(at i: Int) {
            var j = i, col = column
            while j < bytes.count && bytes[j] == 0x20 { j += 1; col += 1 }
            guard j < bytes.count && bytes[j] != 0x0A && bytes[j] != UInt8(ascii: "#") else { return }
            while let top = indentStack.last, top >= col { indentStack.removeLast() }
            indentStack.append(col)
            var depth = indentStack.count
            while j + 1 < bytes.count && (bytes[j] == UInt8(ascii: "-") || bytes[j] == UInt8(ascii: "?"))
                    && isSpace(bytes[j + 1]) {
                j += 1
                while j < bytes.count && bytes[j] == 0x20 { j += 1 }
                depth += 1
            }
            maxBlock = Swift.max(maxBlock, depth)
        }

        /// Byte `i` outside a comment: quotes, comments, brackets, aliases. Returns the next index.
        mutating func step(at i: Int) -> Int {
            let b = bytes[i]
            if let q = quote {
                if q == UInt8(ascii: "\"") && b == UInt8(ascii: "\\") { return i + 2 }
                if b == q {
                    if q == UInt8(ascii: "'") && i + 1 < bytes.count && bytes[i + 1] == q { return i + 2 }
                    quote = nil
                }
                return i + 1
            }
            switch b {
            case UInt8(ascii: "#") where i == 0 || isSpace(bytes[i - 1]): comment = true
            case UInt8(ascii: "'") where tokenStart(i), UInt8(ascii: "\"") where tokenStart(i): quote = b
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                flow += 1
                maxFlow = Swift.max(maxFlow, flow)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): flow = Swift.max(flow - 1, 0)
            case UInt8(ascii: "*") where tokenStart(i) && i + 1 < bytes.count && !isSpace(bytes[i + 1]): aliases += 1
            default: break
            }
            return i + 1
        }
    }

    /// Composes `text` after the scan, then counts the tree (aliases expanded) within `maxNodes`.
    /// - Throws: `ConfigLoader.LoadError` naming `source`, or Yams' parse error.
    static func compose(_ text: String, source: String) throws -> Node? {
        if let p = problem(text) { throw ConfigLoader.LoadError(source, "YAML refused: \(p)") }
        guard let node = try Yams.compose(yaml: text) else { return nil }
        var budget = maxNodes
        guard count(node, budget: &budget) else {
            throw ConfigLoader.LoadError(source, "YAML refused: more than \(maxNodes) values once aliases are expanded")
        }
        return node
    }

    /// Counts `node`'s values into `budget`; false once it runs out (the walk stops there).
    static func count(_ node: Node, budget: inout Int) -> Bool {
        budget -= 1
        guard budget >= 0 else { return false }
        switch node {
        case .scalar: return true
        case .sequence(let s):
            for n in s where !count(n, budget: &budget) { return false }
            return true
        case .mapping(let m):
            for (k, v) in m where !count(k, budget: &budget) || !count(v, budget: &budget) { return false }
            return true
        }
    }
}
