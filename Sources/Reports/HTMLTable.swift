import Plots

/// A table for `HTMLPage`: header cells, rows of cells; numbers align right, text left; a cell may link somewhere
/// or carry a share bar. Every text is escaped when rendered.
public struct HTMLTable {
    public struct Cell {
        public var text: String
        public var isText: Bool
        public var link: String?
        /// 0...1: a small inline bar before the text (share of a total).
        public var share: Double?

        public static func text(_ s: String, link: String? = nil) -> Cell { Cell(text: s, isText: true, link: link, share: nil) }
        public static func number(_ s: String, share: Double? = nil) -> Cell { Cell(text: s, isText: false, link: nil, share: share) }
    }

    public var id: String
    public var headers: [String]
    /// Which header cells hold text (left-aligned); the rest are numbers.
    public var textColumns: Set<Int>
    public var rows: [(cells: [Cell], cls: String)] = []

    public init(id: String, headers: [String], textColumns: Set<Int> = [0]) {
        self.id = id; self.headers = headers; self.textColumns = textColumns
    }

    public mutating func add(_ cells: [Cell], cls: String = "") { rows.append((cells, cls)) }

    public func render() -> String {
        var s = "<table id=\"\(escapeHTML(id))\"><thead><tr>"
        for (i, h) in headers.enumerated() { s += "<th\(textColumns.contains(i) ? " class=\"text\"" : "")>\(escapeHTML(h))</th>" }
        s += "</tr></thead><tbody>\n"
        for r in rows {
            s += "<tr\(r.cls.isEmpty ? "" : " class=\"\(escapeHTML(r.cls))\"")>"
            for c in r.cells {
                var inner = escapeHTML(c.text)
                if let l = c.link { inner = "<a href=\"\(escapeHTML(l))\">\(inner)</a>" }
                if let sh = c.share, sh.isFinite {
                    inner = "<span class=\"share\" style=\"width:\(Int((60 * min(max(sh, 0), 1)).rounded()))px\"></span>" + inner
                }
                s += "<td\(c.isText ? " class=\"text\"" : "")>\(inner)</td>"
            }
            s += "</tr>\n"
        }
        return s + "</tbody></table>\n"
    }
}
