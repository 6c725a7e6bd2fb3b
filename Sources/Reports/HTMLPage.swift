import Foundation
import Plots

/// A self-contained HTML page: inline CSS and SVG, no scripts, no external resources, so that it opens from a
/// cluster's file share or a laptop without network. Every text passes through `escapeHTML`; only the page's own
/// markup and the SVG it generated itself are inserted raw.
public struct HTMLPage {
    public var title: String
    public var subtitle: String
    var body = ""

    public init(title: String, subtitle: String) { self.title = title; self.subtitle = subtitle }

    /// Appends raw markup (produced by this module or `Plots`).
    mutating func raw(_ html: String) { body += html }

    /// Opens a section with an id and a heading; close it with `endSection()`.
    mutating func section(_ id: String, _ heading: String) {
        body += "<section id=\"\(escapeHTML(id))\"><h2>\(escapeHTML(heading))</h2>\n"
    }

    mutating func endSection() { body += "</section>\n" }

    /// A paragraph of plain text.
    mutating func paragraph(_ text: String, cls: String = "") {
        body += "<p\(cls.isEmpty ? "" : " class=\"\(cls)\"")>\(escapeHTML(text))</p>\n"
    }

    /// Headline numbers: (label, value, note).
    mutating func cards(_ items: [(label: String, value: String, note: String)]) {
        body += "<div class=\"cards\">"
        for c in items {
            body += "<div class=\"card\"><div class=\"label\">\(escapeHTML(c.label))</div><div class=\"value\">"
                + "\(escapeHTML(c.value))</div><div class=\"note\">\(escapeHTML(c.note))</div></div>"
        }
        body += "</div>\n"
    }

    /// Figures side by side (each an SVG string from `Plots`).
    mutating func figures(_ svgs: [String]) {
        body += "<div class=\"figures\">" + svgs.map { "<figure>\($0)</figure>" }.joined() + "</div>\n"
    }

    public func render() -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escapeHTML(title))</title>
        <style>\(Self.css)</style>
        </head>
        <body>
        <header><h1>\(escapeHTML(title))</h1><p class="subtitle">\(escapeHTML(subtitle))</p></header>
        <main>
        \(body)</main>
        <footer>Written by bwma on \(escapeHTML(Self.timestamp())). Self-contained: open it from any folder.</footer>
        </body>
        </html>

        """
    }

    static func timestamp() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return f.string(from: Date())
    }

    static let css = """
    body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:0;color:#222;background:#f6f7f9;font-size:14px}
    header{background:#1d2b3a;color:#fff;padding:18px 28px}
    header h1{margin:0;font-size:22px}
    .subtitle{margin:4px 0 0;color:#c9d3dd}
    main{padding:8px 28px 28px;max-width:1480px}
    section{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:16px 0;padding:8px 18px 16px;overflow-x:auto}
    h2{font-size:17px;margin:10px 0 10px;color:#1d2b3a}
    .cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
    .card{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:10px 16px;min-width:150px}
    .card .label{color:#667;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
    .card .value{font-size:22px;font-weight:bold;margin-top:2px}
    .card .note{color:#667;font-size:12px}
    .figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:14px;align-items:start}
    figure{margin:0}
    figure svg{width:100%;height:auto}
    svg{max-width:100%;height:auto}
    table{border-collapse:collapse;font-size:13px;margin:6px 0}
    th,td{padding:4px 10px;border-bottom:1px solid #e4e7eb;text-align:right;white-space:nowrap}
    th{background:#f0f2f5;font-weight:600}
    td.text,th.text{text-align:left}
    tr.highlight td{background:#fff6d6;font-weight:600}
    tr.total td{border-top:2px solid #999;font-weight:600}
    .share{display:inline-block;height:9px;background:#0072B2;opacity:.7;vertical-align:middle;margin-right:6px}
    .timebar{display:flex;height:18px;width:520px;max-width:100%;border-radius:3px;overflow:hidden;margin:6px 0}
    .timebar span{display:block;height:100%}
    .legend-dot{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 12px;vertical-align:middle}
    .knee{background:#fff6d6;border-left:4px solid #e0a800;padding:8px 12px;margin:8px 0}
    .muted{color:#667}
    pre{background:#f6f7f9;border:1px solid #e4e7eb;padding:10px;overflow:auto;font-size:12.5px}
    footer{color:#889;padding:0 28px 24px;font-size:12px}
    a{color:#0063a0}
    """
}
