import Foundation

/// Rendering: the figure's frame (margins, axis maps, units) first, then each layer of the drawing in paint order —
/// header, grid and axes, Pareto band and knee line, the knee's ring, the series with their labels, the legend.
extension SVGPlot {
    /// Where everything goes: display units, axis maps and the plot area in SVG coordinates.
    struct Frame {
        let width: Double, height: Double
        let xUnit: Quantity.Unit, yUnit: Quantity.Unit
        let xMap: AxisMap, yMap: AxisMap
        let left: Double, top: Double, pw: Double, ph: Double
        let subtitleLines: [String]

        func px(_ v: Double) -> Double { left + xMap.fraction(v) * pw }
        func py(_ v: Double) -> Double { top + ph - yMap.fraction(v) * ph }
        /// Whether a point in display units is drawn (finite, and positive on a log axis).
        func visible(_ p: (x: Double, y: Double)) -> Bool { xMap.accepts(p.x) && yMap.accepts(p.y) }
        /// A stored-units point in display units.
        func display(_ p: (x: Double, y: Double)) -> (x: Double, y: Double) { (p.x * xUnit.factor, p.y * yUnit.factor) }
        func inside(_ b: Box) -> Bool { b.x >= left && b.x + b.w <= left + pw && b.y >= top && b.y + b.h <= top + ph }
    }

    public func render(width: Double = 680, height: Double = 420) -> String {
        let xUnit = x.quantity.unit(for: series.flatMap { $0.points.map(\.x) })
        let yUnit = y.quantity.unit(for: series.flatMap { $0.points.map(\.y) })
        // Points in display units; non-finite ones (and non-positive ones on a log axis) are left out.
        let xs = series.flatMap { $0.points.map { $0.x * xUnit.factor } }.filter(\.isFinite)
        let ys = series.flatMap { $0.points.map { $0.y * yUnit.factor } }.filter(\.isFinite)
        let xMap = AxisMap(x, values: xs + (knee.map { [$0.x * xUnit.factor] } ?? []), integerTicks: true)
        let yMap = AxisMap(y, values: ys, integerTicks: false)
        // The Pareto front (in display units), listed in the legend only when it is a line.
        var front: [(x: Double, y: Double)] = []
        if paretoFront {
            let all = series.flatMap { $0.points.map { (x: $0.x * xUnit.factor, y: $0.y * yUnit.factor) } }
                .filter { xMap.accepts($0.x) && yMap.accepts($0.y) }
            front = Pareto.front(all).map { all[$0] }
        }
        let legend = legendEntries(front: front.count > 1)
        let legendWidth = legend.isEmpty ? 0 : 44 + 6.6 * Double(legend.map(\.name.count).max()!)
        let yLabelWidth = 7.0 * Double(yMap.labels.map(\.count).max() ?? 1)
        let left = 34 + yLabelWidth, right = 16 + legendWidth
        // A subtitle wider than the figure breaks at the " · " nearest its middle.
        let subtitleLines = Self.wrap(subtitle, width: (width - left - 8) / 6.6)
        let top = 40.0 + 16 * Double(subtitleLines.count), bottom = 52.0
        let frame = Frame(width: width, height: height, xUnit: xUnit, yUnit: yUnit, xMap: xMap, yMap: yMap,
                          left: left, top: top, pw: width - left - right, ph: height - top - bottom,
                          subtitleLines: subtitleLines)
        var s = header(frame) + axes(frame) + paretoAndKneeLine(frame, front: front)
        var placed: [Box] = []
        let ring = kneeRing(frame, placed: &placed)
        s += seriesLayer(frame, kneeAt: ring?.at, placed: &placed) + (ring?.svg ?? "")
        return s + legendLayer(frame, legend)
    }

    func header(_ fr: Frame) -> String {
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" viewBox=\"0 0 \(Int(fr.width)) \(Int(fr.height))\" "
            + "width=\"\(Int(fr.width))\" height=\"\(Int(fr.height))\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
            + "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text class=\"title\" x=\"\(f(fr.left))\" y=\"22\" font-size=\"15\" font-weight=\"bold\">\(esc(title))</text>\n"
        for (i, line) in fr.subtitleLines.enumerated() {
            s += "<text class=\"subtitle\" x=\"\(f(fr.left))\" y=\"\(40 + 16 * i)\" fill=\"#555\">\(esc(line))</text>\n"
        }
        return s
    }

    /// Grid, ticks and their labels, the frame, the axis titles.
    func axes(_ fr: Frame) -> String {
        let left = fr.left, top = fr.top, pw = fr.pw, ph = fr.ph
        var s = "<g class=\"grid\" stroke=\"\(Palette.grid)\" stroke-width=\"1\">\n"
        for v in fr.xMap.minor { s += "<line x1=\"\(f(fr.px(v)))\" y1=\"\(f(top))\" x2=\"\(f(fr.px(v)))\" y2=\"\(f(top + ph))\" stroke-opacity=\"0.5\"/>\n" }
        for v in fr.yMap.minor { s += "<line x1=\"\(f(left))\" y1=\"\(f(fr.py(v)))\" x2=\"\(f(left + pw))\" y2=\"\(f(fr.py(v)))\" stroke-opacity=\"0.5\"/>\n" }
        for v in fr.xMap.ticks { s += "<line x1=\"\(f(fr.px(v)))\" y1=\"\(f(top))\" x2=\"\(f(fr.px(v)))\" y2=\"\(f(top + ph))\"/>\n" }
        for v in fr.yMap.ticks { s += "<line x1=\"\(f(left))\" y1=\"\(f(fr.py(v)))\" x2=\"\(f(left + pw))\" y2=\"\(f(fr.py(v)))\"/>\n" }
        s += "</g>\n<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#888\"/>\n"
        s += "<g class=\"ticks\" fill=\"#333\">\n"
        for (v, l) in zip(fr.xMap.ticks, fr.xMap.labels) {
            s += "<text x=\"\(f(fr.px(v)))\" y=\"\(f(top + ph + 17))\" text-anchor=\"middle\">\(esc(l))</text>\n"
        }
        for (v, l) in zip(fr.yMap.ticks, fr.yMap.labels) {
            s += "<text x=\"\(f(left - 7))\" y=\"\(f(fr.py(v) + 4))\" text-anchor=\"end\">\(esc(l))</text>\n"
        }
        s += "</g>\n"
        s += "<text class=\"xlabel\" x=\"\(f(left + pw / 2))\" y=\"\(f(fr.height - 12))\" text-anchor=\"middle\">"
            + "\(esc(axisTitle(x, fr.xUnit, log: fr.xMap.log)))</text>\n"
        s += "<text class=\"ylabel\" transform=\"translate(15,\(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">"
            + "\(esc(axisTitle(y, fr.yUnit, log: fr.yMap.log)))</text>\n"
        return s
    }

    /// The Pareto front as a wide pale band behind the data; the knee as a dashed vertical line (`kneeAsLine`).
    func paretoAndKneeLine(_ fr: Frame, front: [(x: Double, y: Double)]) -> String {
        var s = ""
        if front.count > 1 {
            s += "<polyline class=\"pareto\" fill=\"none\" stroke=\"\(Palette.annotation)\" stroke-opacity=\"0.22\" "
                + "stroke-width=\"9\" stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\""
                + front.map { "\(f(fr.px($0.x))),\(f(fr.py($0.y)))" }.joined(separator: " ") + "\"/>\n"
        }
        if let k = knee, kneeAsLine, fr.xMap.accepts(k.x * fr.xUnit.factor) {
            let X = fr.px(k.x * fr.xUnit.factor)
            s += "<g class=\"knee\"><line x1=\"\(f(X))\" y1=\"\(f(fr.top))\" x2=\"\(f(X))\" y2=\"\(f(fr.top + fr.ph))\" "
                + "stroke=\"\(Palette.annotation)\" stroke-width=\"1.5\" stroke-dasharray=\"6,4\"/>"
                + "<text x=\"\(f(X + 5))\" y=\"\(f(fr.top + 14))\" font-weight=\"bold\" \(halo)>\(esc(k.label))</text></g>\n"
        }
        return s
    }

    /// The knee's ring and label (drawn last, placed first so that point labels keep clear of them): its SVG and
    /// position, nil when the knee is a line or off the plot.
    func kneeRing(_ fr: Frame, placed: inout [Box]) -> (svg: String, at: (x: Double, y: Double))? {
        guard let k = knee, !kneeAsLine else { return nil }
        let p = fr.display((k.x, k.y))
        guard fr.visible(p) else { return nil }
        let X = fr.px(p.x), Y = fr.py(p.y)
        let w = 7.2 * Double(k.label.count), h = 13.0
        let candidates = [Box(x: X + 14, y: Y - 6.5, w: w, h: h), Box(x: X - 14 - w, y: Y - 6.5, w: w, h: h),
                          Box(x: X + 6, y: Y + 13, w: w, h: h), Box(x: X + 6, y: Y - 26, w: w, h: h),
                          Box(x: X - 6 - w, y: Y + 13, w: w, h: h), Box(x: X - 6 - w, y: Y - 26, w: w, h: h)]
        let b = candidates.first(where: fr.inside) ?? candidates[0]
        placed += [Box(x: X - 11, y: Y - 11, w: 22, h: 22), b]
        let svg = "<g class=\"knee\"><circle cx=\"\(f(X))\" cy=\"\(f(Y))\" r=\"10\" fill=\"none\" stroke=\"#000\" "
            + "stroke-width=\"1.6\"/><text x=\"\(f(b.x))\" y=\"\(f(b.y + h - 2))\" font-weight=\"bold\" \(halo)>"
            + "\(esc(k.label))</text></g>\n"
        return (svg, (X, Y))
    }

    /// Every series: line, markers, then (after all series, above them) the point labels, each placed clear of the
    /// labels already placed.
    func seriesLayer(_ fr: Frame, kneeAt: (x: Double, y: Double)?, placed: inout [Box]) -> String {
        var s = "", labels = ""
        for (i, se) in series.enumerated() {
            let color = se.color ?? Palette.cycle[i % Palette.cycle.count]
            var idx = se.points.indices.filter { fr.visible(fr.display(se.points[$0])) }
            if se.sortByX { idx.sort { se.points[$0].x < se.points[$1].x } }
            let pts = idx.map { j -> (x: Double, y: Double) in
                let p = fr.display(se.points[j])
                return (fr.px(p.x), fr.py(p.y))
            }
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
                let inside = candidates.filter(fr.inside)
                let b = inside.first { c in !placed.contains { $0.overlaps(c) } } ?? inside.first ?? candidates[0]
                placed.append(b)
                labels += "<text class=\"point-label\" x=\"\(f(b.x + 1))\" y=\"\(f(b.y + h - 1))\" font-size=\"10.5\" "
                    + "fill=\"\(color)\" \(halo)>\(esc(text))</text>\n"
            }
        }
        return s + labels
    }

    /// The legend, right of the plot area; closes the SVG.
    func legendLayer(_ fr: Frame, _ legend: [(name: String, kind: LegendKind)]) -> String {
        let lx = fr.left + fr.pw + 14
        var s = "<g class=\"legend\">\n"
        for (i, e) in legend.enumerated() {
            let ly = fr.top + 8 + Double(i) * 18
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
}
