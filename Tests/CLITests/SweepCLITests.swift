import Foundation
import XCTest

/// `bwma sweep`: a 2-point grid under `mpirun -np 2` trains each point in its own group (MPI_Comm_split) and
/// gathers one CSV; one rank trains both points in turn and gets the same accuracies.
final class SweepCLITests: XCTestCase {
    let cli = CLITests(name: "helpers", testClosure: { _ in })
    override func setUpWithError() throws { try cli.setUpWithError() }
    override func tearDown() { cli.tearDown() }

    func config(runs: String) throws -> String {
        let p = cli.tmp.appendingPathComponent("sweep.yaml").path
        try """
        name: s
        model: {arch: smallcnn}
        data: {limit_train: 256, limit_test: 100, batch_size: 64}
        quant: {weights: bwma, activations: bwma, abits: 4}
        optim: {lr: 0.05}
        schedule: {epochs: 1}
        cim: {adc_bits: 4}
        runtime: {threads: 1, runs_dir: \(runs)}
        """.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    func rows(_ csv: String) -> [[String]] {
        csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    func testTwoRanksTrainEachPointInItsOwnGroupAndMatchOneRank() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") else {
            throw XCTSkip("Fashion-MNIST missing: apt-get install dataset-fashion-mnist")
        }
        let mpirun = try XCTUnwrap(DistributedCLITests.which("mpirun"), "mpirun not installed")
        let bin = try CLITests.binary().path
        let two = cli.tmp.appendingPathComponent("two").path, one = cli.tmp.appendingPathComponent("one").path
        let args = ["sweep", "--grid", "quant.abits=2,3", "--eval-grid", "cim.device=sram,rram"]
        let d = DistributedCLITests(name: "helpers", testClosure: { _ in })
        try d.setUpWithError()
        defer { try? d.tearDownWithError() }
        let (s2, o2) = try d.run(mpirun, ["-np", "2", "--oversubscribe", "--bind-to", "none", bin] + args
                                    + ["--config", try config(runs: two)])
        XCTAssertEqual(s2, 0, o2)
        XCTAssertTrue(o2.contains("2 training point(s) x 2 hardware setting(s) on 2 rank(s) in 2 group(s)"), o2)
        let r = try cli.bwma(args + ["--config", try config(runs: one)])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("in 1 group(s)"), r.stderr)
        let csv2 = try String(contentsOfFile: "\(two)/s/sweep.csv", encoding: .utf8)
        let csv1 = try String(contentsOfFile: "\(one)/s/sweep.csv", encoding: .utf8)
        let a = rows(csv2), b = rows(csv1)
        XCTAssertEqual(a.count, 4, csv2)
        XCTAssertEqual(Set(a.map { $0[1] }), ["abits-2", "abits-3"])
        XCTAssertEqual(a.map { $0[3] }, ["1", "1", "1", "1"], "each group has one rank")
        // Same points, same software and hardware-aware accuracies, same costs (columns up to tops_per_w).
        XCTAssertEqual(a.map { Array($0[0..<13]) }, b.map { Array($0[0..<13]) })
        for f in ["report.md", "accuracy_vs_energy.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(two)/s/\(f)"), f)
        }
        let report = try String(contentsOfFile: "\(two)/s/report.md", encoding: .utf8)
        XCTAssertTrue(report.contains("Knee:"), report)
        // Each point is a complete run folder.
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(two)/s/abits-2/checkpoints/last.safetensors"))
    }

    func testBadGridIsRejectedBeforeTraining() throws {
        let runs = cli.tmp.appendingPathComponent("bad").path
        let r = try cli.bwma(["sweep", "--config", try config(runs: runs), "--grid", "quant.abits=2,9"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("quant.abits") && r.stderr.contains("1...8"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(runs)/s/abits-2"), "nothing trained")
        let r2 = try cli.bwma(["sweep", "--config", try config(runs: runs), "--grid", "quant.abits=2",
                               "--eval-grid", "quant.abits=3"])
        XCTAssertNotEqual(r2.status, 0)
        XCTAssertTrue(r2.stderr.contains("only cim.* keys"), r2.stderr)
    }
}
