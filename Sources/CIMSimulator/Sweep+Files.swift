import Foundation

extension Sweep {
    /// What `write` produced.
    public struct Written: Sendable {
        public var csv: URL
        public var plots: [String]
        public var knee: Knee?
    }

    /// Writes a sweep's results: the CSV at `csv` and its plots beside it (`STEM_FILE.svg`), each file atomically;
    /// `subject` titles the plots (model and the chip settings every point shares).
    public static func write(_ rows: [Row], base: CIMConfig, to csv: URL, subject: String) throws -> Written {
        try Data(Sweep.csv(rows, base: base).utf8).write(to: csv, options: .atomic)
        let dir = csv.deletingLastPathComponent(), stem = csv.deletingPathExtension().lastPathComponent
        let knee = Sweep.knee(rows)
        var plots: [String] = []
        for (file, svg) in Sweep.plots(rows, knee: knee, subject: subject + " · " + Sweep.sharedChip(base)) {
            let p = dir.appendingPathComponent("\(stem)_\(file)")
            try Data(svg.utf8).write(to: p, options: .atomic)
            plots.append(p.path)
        }
        return Written(csv: csv, plots: plots, knee: knee)
    }
}
