import Foundation

/// A horizontal bar chart of the parts of a total (energy or area by circuit block), largest first, each bar
/// labelled with its value and its share of the total.
public struct BarChart {
    public var title: String
    public var subtitle: String
    public var quantity: Quantity
    public var items: [(name: String, value: Double)]
    public var color: String

    public init(title: String, subtitle: String = "", quantity: Quantity, items: [(name: String, value: Double)],
                color: String = "#0072B2") {
        self.title = title; self.subtitle = subtitle; self.quantity = quantity; self.items = items; self.color = color
    }

    public func render(width: Double = 460) -> String {
        let shown = items.filter { $0.value.isFinite && $0.value > 0 }.sorted { $0.value > $1.value }
        let total = shown.reduce(0) { $0 + $1.value }
        let unit = quantity.unit(for: shown.map(\.value))
        let top = subtitle.isEmpty ? 34.0 : 50.0, row = 22.0
        let height = top + row * Double(max(shown.count, 1)) + 26
        let nameWidth = 8 + 6.8 * Double(shown.map(\.name.count).max() ?? 4)
        let valueWidth = 120.0
        let barMax = max(width - nameWidth - valueWidth - 12, 40)
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"bars\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" "
            + "width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
            + "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text class=\"title\" x=\"4\" y=\"20\" font-size=\"14\" font-weight=\"bold\">\(esc(title))</text>\n"
        if !subtitle.isEmpty { s += "<text x=\"4\" y=\"37\" fill=\"#555\">\(esc(subtitle))</text>\n" }
        let largest = shown.first?.value ?? 1
        for (i, it) in shown.enumerated() {
            let y = top + Double(i) * row
            let w = max(1, barMax * it.value / largest)
            s += "<text x=\"\(f(nameWidth - 6))\" y=\"\(f(y + 14))\" text-anchor=\"end\">\(esc(it.name))</text>"
            s += "<rect class=\"bar\" x=\"\(f(nameWidth))\" y=\"\(f(y + 3))\" width=\"\(f(w))\" height=\"\(f(row - 7))\" "
                + "fill=\"\(color)\" fill-opacity=\"\(f(max(0.35, 1 - 0.12 * Double(i))))\"/>"
            s += "<text x=\"\(f(nameWidth + w + 6))\" y=\"\(f(y + 14))\" fill=\"#333\">"
                + "\(Quantity.significant(it.value * unit.factor, 3)) \(esc(unit.symbol)) · "
                + "\(String(format: "%.1f", 100 * it.value / total)) %</text>\n"
        }
        s += "<text x=\"4\" y=\"\(f(height - 8))\" fill=\"#555\">total \(esc(quantity.format(total)))</text>\n"
        return s + "</svg>\n"
    }
}
