import Foundation
import XCTest

/// The run and sweep reports opened in a real browser (headless Chromium): a 1-epoch run and a 2-point sweep on a few
/// hundred Fashion-MNIST images (synthetic data when the Debian package is missing), each report.html loaded from
/// its folder, its DOM checked for the plots and tables, and a screenshot taken. Set `BWMA_REPORT_PNG_DIR` to keep
/// the screenshots (docs/img/report_run.png and report_sweep.png come from there).
final class ReportBrowserTests: XCTestCase {
    let cli = CLITests(name: "helpers", testClosure: { _ in })
    override func setUpWithError() throws { try cli.setUpWithError() }
    override func tearDown() { cli.tearDown() }

    static let fashionMNIST = "/usr/share/datasets/fashion-mnist"

    func config(name: String) throws -> String {
        let real = FileManager.default.fileExists(atPath: "\(Self.fashionMNIST)/train-images-idx3-ubyte.gz")
        let data = real
            ? "{dataset: fashion-mnist, path: \(Self.fashionMNIST), limit_train: 512, limit_test: 256, batch_size: 64}"
            : "{dataset: synthetic, synthetic_train: 512, synthetic_test: 256, synthetic_shape: 1x28x28, batch_size: 64}"
        let p = cli.tmp.appendingPathComponent("\(name).yaml").path
        try """
        name: \(name)
        model: {arch: smallcnn}
        data: \(data)
        quant: {weights: bwma, activations: bwma, abits: 4}
        optim: {lr: 0.05}
        schedule: {epochs: 1}
        runtime: {threads: 2, runs_dir: \(cli.runsDir), log_every_steps: 2}
        """.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// Loads `page` in Chromium: returns the DOM after load and writes a screenshot `png` of `size`.
    func render(_ page: URL, png: URL, size: (Int, Int), browser: String) throws -> String {
        let profile = cli.tmp.appendingPathComponent("chromium-profile")
        let flags = Chromium.flags(profile: profile)
        let dom = Chromium.run(browser, flags + ["--enable-logging=stderr", "--dump-dom", page.absoluteString])
        XCTAssertEqual(dom.status, 0, dom.output)
        XCTAssertFalse(dom.output.contains("Failed to load resource") || dom.output.contains("Uncaught"),
                       "the page loads without errors: \(dom.output.suffix(2000))")
        let shot = Chromium.run(browser, flags + ["--screenshot=\(png.path)", "--window-size=\(size.0),\(size.1)",
                                                  page.absoluteString])
        XCTAssertEqual(shot.status, 0, shot.output)
        let bytes = try Data(contentsOf: png)
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        // IHDR: width and height, big-endian, at bytes 16..23.
        let w = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }, h = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual([w, h], [size.0, size.1])
        XCTAssertGreaterThan(bytes.count, 40_000, "a rendered page, not a blank one")
        if let keep = ProcessInfo.processInfo.environment["BWMA_REPORT_PNG_DIR"] {
            try? FileManager.default.removeItem(atPath: "\(keep)/\(png.lastPathComponent)")
            try FileManager.default.copyItem(atPath: png.path, toPath: "\(keep)/\(png.lastPathComponent)")
        }
        return dom.output
    }

    func count(_ needle: String, in s: String) -> Int { s.components(separatedBy: needle).count - 1 }

    func testRunAndSweepReportsRenderInHeadlessChromium() throws {
        let browser = try Chromium.locate()
        // A run.
        let run = try cli.bwma(["train", "--config", try config(name: "report-run")], timeout: 300)
        XCTAssertEqual(run.status, 0, run.stderr)
        let runPage = URL(fileURLWithPath: "\(cli.runsDir)/report-run/report.html")
        let dom = try render(runPage, png: cli.tmp.appendingPathComponent("report_run.png"), size: (1400, 2600),
                             browser: browser)
        XCTAssert(dom.contains("<title>Run report-run</title>"), dom.prefix(500).description)
        for id in ["curves", "throughput", "cim", "config"] { XCTAssert(dom.contains("<section id=\"\(id)\">"), id) }
        for t in ["epochs", "chip-summary", "layers"] { XCTAssert(dom.contains("<table id=\"\(t)\">"), t) }
        XCTAssertGreaterThanOrEqual(count("<svg", in: dom), 6, "loss, accuracy, throughput, accuracy bars, energy, area")
        XCTAssertGreaterThanOrEqual(count("<polyline", in: dom), 2, "step losses and step throughput")
        XCTAssertGreaterThan(count("class=\"bar\"", in: dom), 6, "energy and area by circuit block")
        XCTAssert(dom.contains("SmallCNN on") && dom.contains("SRAM, 22 nm"), "titles name model, dataset and chip")

        // A sweep of two widths on two devices; each point links to its run report.
        let sweep = try cli.bwma(["sweep", "--config", try config(name: "report-sweep"), "--grid", "quant.abits=2,4",
                                  "--eval-grid", "cim.device=sram,rram"], timeout: 600)
        XCTAssertEqual(sweep.status, 0, sweep.stderr)
        let sweepPage = URL(fileURLWithPath: "\(cli.runsDir)/report-sweep/report.html")
        let sdom = try render(sweepPage, png: cli.tmp.appendingPathComponent("report_sweep.png"), size: (1400, 2000),
                              browser: browser)
        XCTAssert(sdom.contains("<table id=\"points\">"))
        XCTAssertEqual(count("<tr", in: sdom.components(separatedBy: "<table id=\"points\">")[1]
                                .components(separatedBy: "</table>")[0]), 5, "header + 2 widths x 2 devices")
        XCTAssert(sdom.contains("Knee: "), "the knee is named")
        XCTAssertEqual(count("class=\"knee\"", in: sdom), 1 + 6, "the callout and the knee in each of the six plots")
        for f in ["energy", "area", "latency"] { XCTAssert(sdom.contains("Hardware-aware accuracy vs \(f == "area" ? "chip area" : f)")) }
        XCTAssertEqual(count("class=\"point-label\"", in: sdom), 3 * 3, "A2 and A4 of both devices labelled in the three "
                       + "accuracy plots, but for the knee, which its own label names")
        XCTAssertGreaterThanOrEqual(count(">A4</text>", in: sdom), 3)
        for label in ["abits-2", "abits-4"] {
            XCTAssert(sdom.contains("<a href=\"\(label)/report.html\">"), label)
            XCTAssert(FileManager.default.fileExists(atPath: "\(cli.runsDir)/report-sweep/\(label)/report.html"))
        }
    }
}
