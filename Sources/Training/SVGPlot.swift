import Foundation

/// A minimal line chart as SVG text: named series of (x, y) points, axis labels, a title, a legend. No
/// dependencies; the run folder's loss.svg and accuracy.svg use it.
public struct SVGPlot {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) { self.name = name; self.points = points }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var width = 640.0, height = 400.0

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
    }

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]

    /// The SVG document. Non-finite points are skipped; an empty plot still renders its axes.
    public func render() -> String {
        let left = 64.0, right = 16.0, top = 36.0, bottom = 48.0
        let pw = width - left - right, ph = height - top - bottom
        let pts = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        var x0 = pts.map(\.x).min() ?? 0, x1 = pts.map(\.x).max() ?? 1
        var y0 = pts.map(\.y).min() ?? 0, y1 = pts.map(\.y).max() ?? 1
        if x1 <= x0 { x0 -= 0.5; x1 += 0.5 }
        if y1 <= y0 { y0 -= 0.5; y1 += 0.5 }
        let pad = (y1 - y0) * 0.05
        y0 -= pad; y1 += pad
        func sx(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func sy(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * ph }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        func tick(_ v: Double) -> String { abs(v) >= 1000 || (abs(v) < 0.01 && v != 0) ? String(format: "%.2g", v) : String(format: "%.3g", v) }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(width / 2))" y="20" text-anchor="middle" font-size="14">\(Self.escape(title))</text>

        """
        for i in 0...4 {
            let yv = y0 + (y1 - y0) * Double(i) / 4, xv = x0 + (x1 - x0) * Double(i) / 4
            s += "<line x1=\"\(f(left))\" y1=\"\(f(sy(yv)))\" x2=\"\(f(left + pw))\" y2=\"\(f(sy(yv)))\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(sy(yv) + 4))\" text-anchor=\"end\">\(tick(yv))</text>\n"
            s += "<text x=\"\(f(sx(xv)))\" y=\"\(f(top + ph + 16))\" text-anchor=\"middle\">\(tick(xv))</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"black\"/>\n"
        s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        s += "<text transform=\"translate(16 \(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        for (i, se) in series.enumerated() {
            let color = Self.colors[i % Self.colors.count]
            let p = se.points.filter { $0.x.isFinite && $0.y.isFinite }
            if p.count > 1 {
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\""
                    + p.map { "\(f(sx($0.x))),\(f(sy($0.y)))" }.joined(separator: " ") + "\"/>\n"
            }
            for q in p where p.count <= 50 {
                s += "<circle cx=\"\(f(sx(q.x)))\" cy=\"\(f(sy(q.y)))\" r=\"2.5\" fill=\"\(color)\"/>\n"
            }
            let ly = top + 14 + Double(i) * 16
            s += "<line x1=\"\(f(left + pw - 150))\" y1=\"\(f(ly - 4))\" x2=\"\(f(left + pw - 130))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(f(left + pw - 124))\" y=\"\(f(ly))\">\(Self.escape(se.name))</text>\n"
        }
        return s + "</svg>\n"
    }

    static func escape(_ t: String) -> String {
        t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
