import Foundation

/// An SVG line/scatter plot that reads at a glance (no dependencies): 1-2-5 ticks (`NiceScale`), values in their own
/// unit (`Quantity`: µJ, mm², µs, %), a light grid, logarithmic axes where the data span decades, labelled points,
/// an optional Pareto front and knee, and the legend outside the plot area so that it never covers data.
public struct SVGPlot {
    public enum LineStyle: Sendable { case solid, dashed, dotted, none }
    public enum Marker: Sendable { case circle, square, triangle, none }
    /// `auto`: logarithmic when every value is positive and the largest is at least 30 times the smallest.
    public enum Scale: Sendable { case linear, log, auto }

    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// One label per point ("A4"), drawn beside it; empty: none.
        public var labels: [String]
        /// A CSS colour; nil: the next colour of `Palette.cycle`.
        public var color: String?
        public var line: LineStyle
        public var marker: Marker
        public var lineWidth: Double
        /// Join the points in order of x (true) or in the given order (false: e.g. in order of activation bits).
        public var sortByX: Bool

        public init(name: String, points: [(x: Double, y: Double)], labels: [String] = [], color: String? = nil,
                    line: LineStyle = .solid, marker: Marker = .circle, lineWidth: Double = 1.8, sortByX: Bool = true) {
            self.name = name; self.points = points; self.labels = labels; self.color = color; self.line = line
            self.marker = marker; self.lineWidth = lineWidth; self.sortByX = sortByX
        }
    }

    public struct Axis {
        public var label: String
        public var quantity: Quantity
        public var scale: Scale
        /// Extend a linear axis to 0 (e.g. epochs, losses).
        public var includeZero: Bool

        public init(_ label: String, quantity: Quantity = .plain, scale: Scale = .linear, includeZero: Bool = false) {
            self.label = label; self.quantity = quantity; self.scale = scale; self.includeZero = includeZero
        }
    }

    /// A marked point (the knee), in stored units.
    public struct Mark {
        public var x: Double, y: Double
        public var label: String
        public init(x: Double, y: Double, label: String) { self.x = x; self.y = y; self.label = label }
    }

    public var title: String
    /// A second title line: model, dataset, chip.
    public var subtitle: String
    public var x: Axis, y: Axis
    public var series: [Series]
    /// Draw the Pareto front of all points (smaller x and larger y better).
    public var paretoFront = false
    /// A ringed point (the knee).
    public var knee: Mark?
    /// A vertical dashed line at `knee.x` instead of a ring (cost-vs-bits plots, where each width has several points).
    public var kneeAsLine = false

    public init(title: String, subtitle: String = "", x: Axis, y: Axis, series: [Series]) {
        self.title = title; self.subtitle = subtitle; self.x = x; self.y = y; self.series = series
    }

    /// The plain form: linear or log-10 y axis, lines through the points sorted by x or markers only.
    public init(title: String, xLabel: String, yLabel: String, series: [Series], logY: Bool = false, lines: Bool = true) {
        var s = series
        if !lines { for i in s.indices { s[i].line = .none } }
        self.init(title: title, x: Axis(xLabel), y: Axis(yLabel, scale: logY ? .log : .linear), series: s)
    }

    // MARK: - Pieces

    /// `text` in lines of at most about `width` characters, broken at " · " (one line when it fits or cannot break).
    static func wrap(_ text: String, width: Double) -> [String] {
        guard !text.isEmpty else { return [] }
        guard Double(text.count) > width else { return [text] }
        let parts = text.components(separatedBy: " · ")
        var lines: [String] = [], line = ""
        for p in parts {
            let next = line.isEmpty ? p : line + " · " + p
            if Double(next.count) > width && !line.isEmpty { lines.append(line); line = p } else { line = next }
        }
        return lines + [line]
    }

    enum LegendKind { case series(Series, String), pareto, knee }

    func legendEntries(front: Bool) -> [(name: String, kind: LegendKind)] {
        var out: [(String, LegendKind)] = series.enumerated().map { i, se in
            (se.name, .series(se, se.color ?? Palette.cycle[i % Palette.cycle.count]))
        }
        if front { out.append(("Pareto front", .pareto)) }
        if knee != nil { out.append((kneeAsLine ? "knee" : "knee (ringed)", .knee)) }
        return out
    }

    func axisTitle(_ a: Axis, _ u: Quantity.Unit, log: Bool) -> String {
        a.label + (u.symbol.isEmpty ? "" : " (\(u.symbol))") + (log ? ", log scale" : "")
    }

    let halo = "stroke=\"white\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\""

    func dash(_ l: LineStyle) -> String {
        switch l {
        case .dashed: return " stroke-dasharray=\"7,4\""
        case .dotted: return " stroke-dasharray=\"2,3\""
        case .solid, .none: return ""
        }
    }

    /// Data markers are `<circle>`, `<rect>` or `<path>` elements of class `pt`; legend samples have no class and are
    /// never `<circle>`s (the knee's ring is the only other circle).
    func marker(_ m: Marker, _ x: Double, _ y: Double, _ color: String, legend: Bool = false) -> String {
        let cls = legend ? "" : " class=\"pt\""
        switch m {
        case .none: return ""
        case .circle where legend:  // a rounded square: `<circle>` elements are the data's alone
            return "<rect x=\"\(f(x - 3.5))\" y=\"\(f(y - 3.5))\" width=\"7\" height=\"7\" rx=\"3.5\" fill=\"\(color)\"/>\n"
        case .circle: return "<circle\(cls) cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"3.5\" fill=\"\(color)\"/>\n"
        case .square: return "<rect\(cls) x=\"\(f(x - 3.5))\" y=\"\(f(y - 3.5))\" width=\"7\" height=\"7\" fill=\"\(color)\"/>\n"
        case .triangle:
            return "<path\(cls) d=\"M\(f(x)),\(f(y - 4.5)) L\(f(x + 4.2)),\(f(y + 3)) L\(f(x - 4.2)),\(f(y + 3)) Z\" fill=\"\(color)\"/>\n"
        }
    }

    struct Box {
        var x, y, w, h: Double
        func overlaps(_ o: Box) -> Bool { x < o.x + o.w && o.x < x + w && y < o.y + o.h && o.y < y + h }
    }
}

func f(_ v: Double) -> String { String(format: "%.1f", v) }

func esc(_ s: String) -> String { escapeHTML(s) }

/// Escapes text for SVG/HTML content and attribute values (`&`, `<`, `>`, `"`, `'`).
public func escapeHTML(_ s: String) -> String {
    var o = ""
    o.reserveCapacity(s.count)
    for c in s {
        switch c {
        case "&": o += "&amp;"
        case "<": o += "&lt;"
        case ">": o += "&gt;"
        case "\"": o += "&quot;"
        case "'": o += "&#39;"
        default: o.append(c)
        }
    }
    return o
}
