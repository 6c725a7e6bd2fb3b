import Foundation

/// A minimal SVG line/scatter plot writer (no dependencies): linear or log-10 y axis, five ticks per axis, a legend.
public struct SVGPlot {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) { self.name = name; self.points = points }
    }

    public var title: String, xLabel: String, yLabel: String
    public var series: [Series]
    public var logY = false
    /// Connect the points of a series (sorted by x) or draw markers only.
    public var lines = true

    public init(title: String, xLabel: String, yLabel: String, series: [Series], logY: Bool = false, lines: Bool = true) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series; self.logY = logY
        self.lines = lines
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                          "#bcbd22", "#17becf"]

    public func render(width: Double = 640, height: Double = 420) -> String {
        let left = 95.0, right = 170.0, top = 40.0, bottom = 55.0
        let pw = width - left - right, ph = height - top - bottom
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
        func ty(_ y: Double) -> Double { logY ? log10(y) : y }
        var x0 = all.map(\.x).min() ?? 0, x1 = all.map(\.x).max() ?? 1
        var y0 = all.map { ty($0.y) }.min() ?? 0, y1 = all.map { ty($0.y) }.max() ?? 1
        if x1 <= x0 { x0 -= 0.5; x1 += 0.5 }
        if y1 <= y0 { y0 -= 0.5; y1 += 0.5 }
        let pad = (y1 - y0) * 0.05
        y0 -= pad; y1 += pad
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { top + ph - (ty(y) - y0) / (y1 - y0) * ph }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        func num(_ v: Double) -> String { String(format: "%.4g", v) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(num(left + pw / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">\(esc(title))</text>\n"
        s += "<rect x=\"\(num(left))\" y=\"\(num(top))\" width=\"\(num(pw))\" height=\"\(num(ph))\" "
            + "fill=\"none\" stroke=\"black\"/>\n"
        // x ticks: every integer when the data are small integers (activation bits), else five.
        let integerX = !all.isEmpty && all.allSatisfy { $0.x == $0.x.rounded() } && x1 - x0 <= 12
        let xticks = integerX ? stride(from: x0, through: x1, by: 1).map { $0 } : (0...4).map { x0 + (x1 - x0) * Double($0) / 4 }
        for fx in xticks {
            let X = px(fx)
            s += "<line x1=\"\(num(X))\" y1=\"\(num(top + ph))\" x2=\"\(num(X))\" y2=\"\(num(top + ph + 5))\" stroke=\"black\"/>"
            s += "<text x=\"\(num(X))\" y=\"\(num(top + ph + 18))\" text-anchor=\"middle\">\(num(fx))</text>\n"
        }
        for i in 0...4 {
            let fy = y0 + (y1 - y0) * Double(i) / 4, Y = top + ph - Double(i) / 4 * ph
            s += "<line x1=\"\(num(left - 5))\" y1=\"\(num(Y))\" x2=\"\(num(left))\" y2=\"\(num(Y))\" stroke=\"black\"/>"
            s += "<text x=\"\(num(left - 8))\" y=\"\(num(Y + 4))\" text-anchor=\"end\">\(num(logY ? pow(10, fy) : fy))</text>\n"
        }
        s += "<text x=\"\(num(left + pw / 2))\" y=\"\(num(height - 12))\" text-anchor=\"middle\">\(esc(xLabel))</text>\n"
        s += "<text transform=\"translate(16,\(num(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">"
            + "\(esc(yLabel + (logY ? " (log)" : "")))</text>\n"
        for (i, se) in series.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            let pts = se.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
                .sorted { $0.x < $1.x }
            if lines && pts.count > 1 {
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\""
                    + pts.map { "\(num(px($0.x))),\(num(py($0.y)))" }.joined(separator: " ") + "\"/>\n"
            }
            for p in pts { s += "<circle cx=\"\(num(px(p.x)))\" cy=\"\(num(py(p.y)))\" r=\"3\" fill=\"\(color)\"/>\n" }
            let ly = top + 14 + Double(i) * 16
            s += "<rect x=\"\(num(left + pw + 12))\" y=\"\(num(ly - 9))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            s += "<text x=\"\(num(left + pw + 27))\" y=\"\(num(ly))\">\(esc(se.name))</text>\n"
        }
        return s + "</svg>\n"
    }
}
