import Foundation
import XCTest

/// Data-parallel runs through `mpirun`, end to end.
final class DistributedCLITests: XCTestCase {
    var temp: URL!

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
        else { throw XCTSkip("Fashion-MNIST missing: apt-get install dataset-fashion-mnist") }
        guard Self.which("mpirun") != nil else { throw XCTSkip("mpirun missing: apt-get install openmpi-bin libopenmpi-dev") }
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("bwma-ddp-\(UUID())")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let temp { try? FileManager.default.removeItem(at: temp) }
    }

    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(dir)/\(tool)") { return "\(dir)/\(tool)" }
        return nil
    }

    var binary: String { get throws { try CLITests.binary().path } }

    /// Runs a command with a time limit; returns (status, stdout + stderr).
    func run(_ exe: String, _ args: [String], timeout: TimeInterval = 240) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OMPI_MCA_pml"] = "ob1"; env["OPENBLAS_NUM_THREADS"] = "1"
        p.environment = env
        let out = temp.appendingPathComponent("out-\(UUID()).txt")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        let h = try FileHandle(forWritingTo: out)
        p.standardOutput = h; p.standardError = h
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.terminate(); XCTFail("\(exe) \(args) did not finish in \(timeout) s") }
        p.waitUntilExit()
        try h.close()
        return (p.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }

    func config(_ name: String, extra: String = "") throws -> String {
        let url = temp.appendingPathComponent("\(name).yaml")
        try """
        name: \(name)
        model: {arch: lenet5}
        data: {limit_train: 512, limit_test: 200, batch_size: 32}
        optim: {lr: 0.05}
        schedule: {epochs: 1}
        runtime: {threads: 1, save_parameters: true, runs_dir: \(temp.path)}
        \(extra)
        """.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func parameters(_ name: String) throws -> [Float] {
        let d = try Data(contentsOf: temp.appendingPathComponent("\(name)/parameters.f32"))
        return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// 2 ranks x batch 32 must end where 1 rank x batch 64 ends (same seed, same global batches: the sampler's
    /// interleaved shards of one permutation), up to Float32 rounding of the averaged gradients.
    func testTwoRanksEqualOneRankWithTheGlobalBatch() throws {
        let mpirun = Self.which("mpirun")!
        let bin = try binary
        let (s2, o2) = try run(mpirun, ["-np", "2", "--oversubscribe", "--bind-to", "none", bin, "train",
                                        "--config", try config("two")])
        XCTAssertEqual(s2, 0, o2)
        XCTAssert(o2.contains("2 ranks"), o2)
        let (s1, o1) = try run(bin, ["train", "--config", try config("one"), "--set", "data.batch_size=64"])
        XCTAssertEqual(s1, 0, o1)
        let a = try parameters("two"), b = try parameters("one")
        XCTAssertEqual(a.count, b.count)
        XCTAssertGreaterThan(a.count, 0)
        let scale = b.map { abs($0) }.max()!
        let diff = zip(a, b).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(diff, 1e-5 * scale, "2-rank and 1-rank parameters differ by \(diff)")
        // And training moved them: a no-op sync would also match itself, but not the initial weights.
        XCTAssertFalse(o2.contains("Error"), o2)
    }

    func testRanksWithDifferentConfigsStopWithAClearMessage() throws {
        let mpirun = Self.which("mpirun")!
        let a = try config("cfg-a"), b = try config("cfg-b", extra: "seed: 7"), bin = try binary
        let start = Date()
        let (status, out) = try run(mpirun, ["--oversubscribe", "--bind-to", "none",
                                             "-np", "1", bin, "train", "--config", a, ":",
                                             "-np", "1", bin, "train", "--config", b], timeout: 120)
        XCTAssertNotEqual(status, 0)
        XCTAssert(out.contains("configuration differs between ranks"), out)
        XCTAssertLessThan(Date().timeIntervalSince(start), 120)
    }
}
