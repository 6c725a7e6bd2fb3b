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

    // MARK: - Rendering

    public func render(width: Double = 680, height: Double = 420) -> String {
        let xUnit = x.quantity.unit(for: series.flatMap { $0.points.map(\.x) })
        let yUnit = y.quantity.unit(for: series.flatMap { $0.points.map(\.y) })
        // Points in display units; non-finite ones (and non-positive ones on a log axis) are left out.
        let xs = series.flatMap { $0.points.map { $0.x * xUnit.factor } }.filter(\.isFinite)
        let ys = series.flatMap { $0.points.map { $0.y * yUnit.factor } }.filter(\.isFinite)
        let xMap = AxisMap(x, values: xs + (knee.map { [$0.x * xUnit.factor] } ?? []), integerTicks: true)
        let yMap = AxisMap(y, values: ys, integerTicks: false)
        func visible(_ p: (x: Double, y: Double)) -> Bool { xMap.accepts(p.x) && yMap.accepts(p.y) }

        // The Pareto front (in display units), listed in the legend only when it is a line.
        var front: [(x: Double, y: Double)] = []
        if paretoFront {
            let all = series.flatMap { $0.points.map { (x: $0.x * xUnit.factor, y: $0.y * yUnit.factor) } }.filter(visible)
            front = Pareto.front(all).map { all[$0] }
        }
        let legend = legendEntries(front: front.count > 1)
        let legendWidth = legend.isEmpty ? 0 : 44 + 6.6 * Double(legend.map(\.name.count).max()!)
        let yLabelWidth = 7.0 * Double(yMap.labels.map(\.count).max() ?? 1)
        let left = 34 + yLabelWidth, right = 16 + legendWidth
        // A subtitle wider than the figure breaks at the " · " nearest its middle.
        let subtitleLines = Self.wrap(subtitle, width: (width - left - 8) / 6.6)
        let top = 40.0 + 16 * Double(subtitleLines.count), bottom = 52.0
        let pw = width - left - right, ph = height - top - bottom
        func px(_ v: Double) -> Double { left + xMap.fraction(v) * pw }
        func py(_ v: Double) -> Double { top + ph - yMap.fraction(v) * ph }

        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" "
            + "width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
            + "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text class=\"title\" x=\"\(f(left))\" y=\"22\" font-size=\"15\" font-weight=\"bold\">\(esc(title))</text>\n"
        for (i, line) in subtitleLines.enumerated() {
            s += "<text class=\"subtitle\" x=\"\(f(left))\" y=\"\(40 + 16 * i)\" fill=\"#555\">\(esc(line))</text>\n"
        }
        // Grid, ticks and their labels.
        s += "<g class=\"grid\" stroke=\"\(Palette.grid)\" stroke-width=\"1\">\n"
        for v in xMap.minor { s += "<line x1=\"\(f(px(v)))\" y1=\"\(f(top))\" x2=\"\(f(px(v)))\" y2=\"\(f(top + ph))\" stroke-opacity=\"0.5\"/>\n" }
        for v in yMap.minor { s += "<line x1=\"\(f(left))\" y1=\"\(f(py(v)))\" x2=\"\(f(left + pw))\" y2=\"\(f(py(v)))\" stroke-opacity=\"0.5\"/>\n" }
        for v in xMap.ticks { s += "<line x1=\"\(f(px(v)))\" y1=\"\(f(top))\" x2=\"\(f(px(v)))\" y2=\"\(f(top + ph))\"/>\n" }
        for v in yMap.ticks { s += "<line x1=\"\(f(left))\" y1=\"\(f(py(v)))\" x2=\"\(f(left + pw))\" y2=\"\(f(py(v)))\"/>\n" }
        s += "</g>\n<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#888\"/>\n"
        s += "<g class=\"ticks\" fill=\"#333\">\n"
        for (v, l) in zip(xMap.ticks, xMap.labels) {
            s += "<text x=\"\(f(px(v)))\" y=\"\(f(top + ph + 17))\" text-anchor=\"middle\">\(esc(l))</text>\n"
        }
        for (v, l) in zip(yMap.ticks, yMap.labels) {
            s += "<text x=\"\(f(left - 7))\" y=\"\(f(py(v) + 4))\" text-anchor=\"end\">\(esc(l))</text>\n"
        }
        s += "</g>\n"
        s += "<text class=\"xlabel\" x=\"\(f(left + pw / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">"
            + "\(esc(axisTitle(x, xUnit, log: xMap.log)))</text>\n"
        s += "<text class=\"ylabel\" transform=\"translate(15,\(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">"
            + "\(esc(axisTitle(y, yUnit, log: yMap.log)))</text>\n"

        // The Pareto front, as a wide pale band behind the data.
        if front.count > 1 {
            s += "<polyline class=\"pareto\" fill=\"none\" stroke=\"\(Palette.annotation)\" stroke-opacity=\"0.22\" "
                + "stroke-width=\"9\" stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\""
                + front.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ") + "\"/>\n"
        }
        if let k = knee, kneeAsLine, xMap.accepts(k.x * xUnit.factor) {
            let X = px(k.x * xUnit.factor)
            s += "<g class=\"knee\"><line x1=\"\(f(X))\" y1=\"\(f(top))\" x2=\"\(f(X))\" y2=\"\(f(top + ph))\" "
                + "stroke=\"\(Palette.annotation)\" stroke-width=\"1.5\" stroke-dasharray=\"6,4\"/>"
                + "<text x=\"\(f(X + 5))\" y=\"\(f(top + 14))\" font-weight=\"bold\" \(halo)>\(esc(k.label))</text></g>\n"
        }

        // The knee's ring and label are placed first, so that point labels keep clear of them.
        var placed: [Box] = []
        var kneeSVG = ""
        let kneeAt: (x: Double, y: Double)? = knee.flatMap { k in
            !kneeAsLine && visible((k.x * xUnit.factor, k.y * yUnit.factor)) ? (px(k.x * xUnit.factor), py(k.y * yUnit.factor)) : nil
        }
        if let k = knee, let (X, Y) = kneeAt {
            let w = 7.2 * Double(k.label.count), h = 13.0
            let candidates = [Box(x: X + 14, y: Y - 6.5, w: w, h: h), Box(x: X - 14 - w, y: Y - 6.5, w: w, h: h),
                              Box(x: X + 6, y: Y + 13, w: w, h: h), Box(x: X + 6, y: Y - 26, w: w, h: h),
                              Box(x: X - 6 - w, y: Y + 13, w: w, h: h), Box(x: X - 6 - w, y: Y - 26, w: w, h: h)]
            let b = candidates.first { $0.x >= left && $0.x + $0.w <= left + pw && $0.y >= top && $0.y + $0.h <= top + ph }
                ?? candidates[0]
            placed += [Box(x: X - 11, y: Y - 11, w: 22, h: 22), b]
            kneeSVG = "<g class=\"knee\"><circle cx=\"\(f(X))\" cy=\"\(f(Y))\" r=\"10\" fill=\"none\" stroke=\"#000\" "
                + "stroke-width=\"1.6\"/><text x=\"\(f(b.x))\" y=\"\(f(b.y + h - 2))\" font-weight=\"bold\" \(halo)>"
                + "\(esc(k.label))</text></g>\n"
        }

        // Series: line, markers, point labels.
        var labels = ""
        for (i, se) in series.enumerated() {
            let color = se.color ?? Palette.cycle[i % Palette.cycle.count]
            var idx = se.points.indices.filter {
                visible((se.points[$0].x * xUnit.factor, se.points[$0].y * yUnit.factor))
            }
            if se.sortByX { idx.sort { se.points[$0].x < se.points[$1].x } }
            let pts = idx.map { (x: px(se.points[$0].x * xUnit.factor), y: py(se.points[$0].y * yUnit.factor)) }
            s += "<g class=\"series\" data-name=\"\(esc(se.name))\">\n"
            if se.line != .none && pts.count > 1 {
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(f(se.lineWidth))\"\(dash(se.line)) "
                    + "stroke-linejoin=\"round\" points=\"" + pts.map { "\(f($0.x)),\(f($0.y))" }.joined(separator: " ") + "\"/>\n"
            }
            for p in pts { s += marker(se.marker, p.x, p.y, color) }
            s += "</g>\n"
            for (j, p) in zip(idx, pts) where j < se.labels.count && !se.labels[j].isEmpty {
                // The knee's own label names the point.
                if let kp = kneeAt, abs(kp.x - p.x) < 0.5 && abs(kp.y - p.y) < 0.5 { continue }
                let text = se.labels[j], w = 6.4 * Double(text.count) + 2, h = 11.0
                let candidates = [Box(x: p.x + 6, y: p.y - 17, w: w, h: h), Box(x: p.x + 6, y: p.y + 5, w: w, h: h),
                                  Box(x: p.x - 6 - w, y: p.y - 17, w: w, h: h), Box(x: p.x - 6 - w, y: p.y + 5, w: w, h: h)]
                let inside = candidates.filter { $0.x >= left && $0.x + $0.w <= left + pw && $0.y >= top && $0.y + $0.h <= top + ph }
                let b = inside.first { c in !placed.contains { $0.overlaps(c) } } ?? inside.first ?? candidates[0]
                placed.append(b)
                labels += "<text class=\"point-label\" x=\"\(f(b.x + 1))\" y=\"\(f(b.y + h - 1))\" font-size=\"10.5\" "
                    + "fill=\"\(color)\" \(halo)>\(esc(text))</text>\n"
            }
        }
        s += labels + kneeSVG

        // Legend, right of the plot area.
        let lx = left + pw + 14
        s += "<g class=\"legend\">\n"
        for (i, e) in legend.enumerated() {
            let ly = top + 8 + Double(i) * 18
            switch e.kind {
            case .series(let se, let color):
                if se.line != .none {
                    s += "<line x1=\"\(f(lx))\" y1=\"\(f(ly))\" x2=\"\(f(lx + 24))\" y2=\"\(f(ly))\" stroke=\"\(color)\" "
                        + "stroke-width=\"\(f(se.lineWidth))\"\(dash(se.line))/>"
                }
                s += marker(se.marker, lx + 12, ly, color, legend: true)
            case .pareto:
                s += "<line x1=\"\(f(lx))\" y1=\"\(f(ly))\" x2=\"\(f(lx + 24))\" y2=\"\(f(ly))\" stroke=\"\(Palette.annotation)\" "
                    + "stroke-opacity=\"0.22\" stroke-width=\"9\" stroke-linecap=\"round\"/>"
            case .knee:
                s += kneeAsLine
                    ? "<line x1=\"\(f(lx + 12))\" y1=\"\(f(ly - 7))\" x2=\"\(f(lx + 12))\" y2=\"\(f(ly + 7))\" stroke=\"\(Palette.annotation)\" stroke-width=\"1.5\" stroke-dasharray=\"3,2\"/>"
                    : "<path d=\"M\(f(lx + 19)),\(f(ly)) a7,7 0 1,0 -14,0 a7,7 0 1,0 14,0\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.6\"/>"
            }
            s += "<text x=\"\(f(lx + 30))\" y=\"\(f(ly + 4))\">\(esc(e.name))</text>\n"
        }
        return s + "</g>\n</svg>\n"
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
