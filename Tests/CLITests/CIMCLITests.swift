import Foundation
import XCTest

/// `bwma cim report|sweep` end to end: JSON on stdout, flag errors, and a sweep split over 2 MPI ranks writing
/// the same CSV as one rank.
final class CIMCLITests: XCTestCase {
    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("bwma-cim-\(UUID())")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let temp { try? FileManager.default.removeItem(at: temp) }
    }

    /// Runs a command (stdout and stderr to separate files) with the MPI environment these machines need.
    func run(_ exe: String, _ args: [String], timeout: TimeInterval = 180) throws -> (status: Int32, out: String, err: String) {
        let outURL = temp.appendingPathComponent("out-\(UUID())"), errURL = temp.appendingPathComponent("err-\(UUID())")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.currentDirectoryURL = temp
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OMPI_MCA_pml"] = "ob1"; env["OPENBLAS_NUM_THREADS"] = "1"
        p.environment = env
        p.standardOutput = out; p.standardError = err; p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate(); XCTFail("\(exe) \(args) did not finish in \(timeout) s") }
        p.waitUntilExit()
        try out.close(); try err.close()
        return (p.terminationStatus, try String(contentsOf: outURL, encoding: .utf8),
                try String(contentsOf: errURL, encoding: .utf8))
    }

    var binary: String { get throws { try CLITests.binary().path } }

    func testAnalyticReportPrintsOneJSONObject() throws {
        let r = try run(try binary, ["cim", "report", "--model", "resnet20", "--input", "1x28x28", "--abits", "4",
                                     "--device", "rram", "--adc-bits", "4", "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let obj = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        let chip = obj["chip"] as! [String: Any]
        XCTAssertEqual((chip["layers"] as! [Any]).count, 20, "the FP32 first and last layers are mapped by default")
        XCTAssertEqual((chip["digital_layers"] as! [Any]).count, 0)
        XCTAssertGreaterThan((chip["energy_pj"] as! [String: Any])["adc"] as! Double, 0)
        XCTAssertGreaterThan((chip["energy_pj"] as! [String: Any])["total"] as! Double, 0)
        XCTAssertGreaterThan((chip["area_mm2"] as! [String: Any])["total"] as! Double, 0)
        XCTAssertGreaterThan(chip["tops_per_w"] as! Double, 0)
        let config = chip["config"] as! [String: Any]
        XCTAssertEqual(config["device"] as? String, "rram")
        XCTAssertEqual(config["adc_bits"] as? Int, 4)
        XCTAssertNotNil(config["stuck_at_0"] as? Double)
        XCTAssertNotNil(((chip["layers"] as! [[String: Any]])[0]["mapping"] as! [String: Any])["row_tiles"] as? Int)
        XCTAssertNil(obj["hardware_accuracy"] as? Double, "analytic: no accuracy")
        XCTAssert(r.err.contains("TOPS/W"), "the human summary goes to stderr")
        XCTAssertEqual(r.out.split(separator: "\n").count, 1, "exactly one JSON object on stdout")
    }

    /// A NeuroSim network description, the modes and the FP32-layer switch from the command line.
    func testNetworkReportModesAndDigitalLayers() throws {
        let net = temp.appendingPathComponent("net.csv")
        try "ifm_h,ifm_w,ifm_c,kernel_h,kernel_w,ofm_c,pool_after,stride\n16,16,3,3,3,64,0,1\n16,16,64,3,3,64,0,2\n1,1,64,1,1,10,0,1\n"
            .write(to: net, atomically: true, encoding: .utf8)
        func chip(_ extra: [String]) throws -> [String: Any] {
            let r = try run(try binary, ["cim", "report", "--abits", "4", "--device", "sram", "--json"] + extra)
            XCTAssertEqual(r.status, 0, r.err)
            return (try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any])["chip"] as! [String: Any]
        }
        let lbl = try chip(["--network", net.path])
        XCTAssertEqual((lbl["layers"] as! [[String: Any]]).map { ($0["mapping"] as! [String: Any])["scheme"] as! String },
                       ["conventional", "kernel-split", "conventional"])
        let pipe = try chip(["--network", net.path, "--mode", "pipeline"])
        XCTAssertLessThan(pipe["latency_ns"] as! Double, lbl["latency_ns"] as! Double)
        XCTAssertEqual((pipe["config"] as! [String: Any])["mode"] as? String, "pipeline")
        let digital = try chip(["--model", "resnet20", "--input", "1x28x28", "--map-fp32-layers", "false"])
        XCTAssertEqual((digital["layers"] as! [Any]).count, 18)
        XCTAssertEqual((digital["digital_layers"] as! [Any]).count, 2)
        let wide = try chip(["--model", "resnet20", "--input", "3x32x32", "--width", "4"])
        XCTAssertEqual(((wide["layers"] as! [[String: Any]]).last!["shape"] as! [String: Any])["in_channels"] as? Int, 256)
        let text = try run(try binary, ["cim", "report", "--network", net.path, "--abits", "4", "--device", "rram"])
        XCTAssert(text.err.contains("unassigned floorplan") && text.err.contains("| **total** |"), text.err)
    }

    func testBadFlagsNameTheFlag() throws {
        let bin = try binary
        let base = ["cim", "report", "--model", "resnet20", "--input", "1x28x28", "--abits", "4"]
        for (args, needle) in [
            (base + ["--device", "pcm"], "--device"),
            (["cim", "report", "--model", "resnet20", "--input", "1x28x28", "--abits", "9", "--device", "sram"], "--abits"),
            (base + ["--device", "sram", "--cols-per-adc", "7"], "--cols-per-adc"),
            (base + ["--device", "sram", "--node", "14"], "--node"),
            (base + ["--device", "sram", "--checkpoint", "/tmp"], "--checkpoint"),
            (["cim", "report", "--model", "resnet20", "--abits", "4", "--device", "sram"], "--input"),
            (["cim", "sweep", "--model", "resnet20", "--abits", "0-3", "--out", "x.csv"], "--abits"),
            (["cim", "sweep", "--model", "resnet20", "--devices", "sram,pcm", "--out", "x.csv"], "--devices"),
            (["cim", "report", "--checkpoint", "/nonexistent", "--abits", "4", "--device", "sram"], "/nonexistent"),
            (["cim", "report", "--network", "/nonexistent.csv", "--abits", "4", "--device", "sram"], "--network"),
            (base + ["--device", "sram", "--width", "2", "--network", "x.csv"], "exactly one"),
            (base + ["--device", "sram", "--mode", "parallel"], "--mode"),
            (base + ["--device", "sram", "--adc", "delta-sigma"], "--adc"),
            (["cim", "report", "--model", "vgg8", "--input", "3x32x32", "--width", "2", "--abits", "4", "--device", "sram"],
             "--width"),
        ] {
            let r = try run(bin, args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssert(r.err.contains(needle), "\(args): stderr should name \(needle): \(r.err)")
            XCTAssertEqual(r.out, "", "nothing on stdout on failure")
        }
    }

    func testTrainConfigCIMKeysAreValidated() throws {
        let cfg = temp.appendingPathComponent("c.yaml")
        try "name: x\nmodel: {arch: lenet5}\ndata: {path: \(temp.path)}\n".write(to: cfg, atomically: true, encoding: .utf8)
        for (set, needle) in [("cim.device=pcm", "cim.device"), ("cim.adc_bits=0", "cim.adc_bits"),
                              ("cim.report=always", "cim.report"), ("cim.node=14", "cim.node"),
                              ("cim.mode=parallel", "cim.mode"), ("cim.map_fp32_layers=maybe", "cim.map_fp32_layers")] {
            let r = try run(try binary, ["train", "--config", cfg.path, "--set", set])
            XCTAssertNotEqual(r.status, 0)
            XCTAssert(r.err.contains(needle), "\(set): \(r.err)")
        }
    }

    /// The acceptance check: a sweep under `mpirun -np 2` writes byte for byte the CSV of one rank.
    func testSweepOnTwoRanksWritesTheSameCSVAsOneRank() throws {
        guard let mpirun = DistributedCLITests.which("mpirun") else { throw XCTSkip("mpirun missing") }
        let bin = try binary
        let args = ["cim", "sweep", "--model", "resnet20", "--input", "1x28x28", "--abits", "1-8",
                    "--devices", "sram,rram,fefet", "--adc-bits", "3,4,5"]
        let one = try run(bin, args + ["--out", temp.appendingPathComponent("one.csv").path, "--json"])
        XCTAssertEqual(one.status, 0, one.err)
        let two = try run(mpirun, ["-np", "2", "--oversubscribe", "--bind-to", "none", bin] + args
                                   + ["--out", temp.appendingPathComponent("two.csv").path, "--json"])
        XCTAssertEqual(two.status, 0, two.err)
        let a = try String(contentsOf: temp.appendingPathComponent("one.csv"), encoding: .utf8)
        let b = try String(contentsOf: temp.appendingPathComponent("two.csv"), encoding: .utf8)
        XCTAssertEqual(a.split(separator: "\n").count, 73, "header + 72 points")
        XCTAssertEqual(a, b)
        XCTAssert(two.err.contains("on 2 rank(s)"), two.err)
        XCTAssert(two.err.contains("knee:"), two.err)
        XCTAssertEqual(two.out.split(separator: "\n").count, 1, "one JSON object, from rank 0 only")
        let obj = try JSONSerialization.jsonObject(with: Data(two.out.utf8)) as! [String: Any]
        XCTAssertEqual(obj["points"] as? Int, 72)
        XCTAssertEqual(obj["knee_basis"] as? String, "fidelity-proxy")
        for f in ["energy_vs_abits", "area_vs_abits", "latency_vs_abits"] {
            let svg = try String(contentsOf: temp.appendingPathComponent("two_\(f).svg"), encoding: .utf8)
            XCTAssert(svg.hasPrefix("<svg"))
        }
    }
}

extension CIMCLITests {
    /// Train → run folder → `cim report --checkpoint`: software and hardware-aware accuracy of the trained model.
    func testReportFromATrainedRunFolder() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
        else { throw XCTSkip("Fashion-MNIST missing") }
        let cfg = temp.appendingPathComponent("q.yaml")
        try """
        name: q
        model: {arch: smallcnn}
        data: {limit_train: 1024, limit_test: 200, batch_size: 64}
        quant: {weights: bwma, activations: bwma, abits: 4}
        schedule: {epochs: 1}
        cim: {report: none}
        runtime: {threads: 1, save_parameters: true, runs_dir: \(temp.path)}
        """.write(to: cfg, atomically: true, encoding: .utf8)
        let bin = try binary
        let t = try run(bin, ["train", "--config", cfg.path, "--json"])
        XCTAssertEqual(t.status, 0, t.err)
        let trained = try JSONSerialization.jsonObject(with: Data(t.out.utf8)) as! [String: Any]
        let folder = temp.appendingPathComponent("q").path
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/cim"), "cim.report: none")
        // The binarized layers on the chip, the FP32 ones in software: a lossless ADC gives the software accuracy.
        let r = try run(bin, ["cim", "report", "--checkpoint", folder, "--abits", "4", "--device", "sram", "--adc-bits", "8",
                              "--map-fp32-layers", "false", "--limit-test", "200", "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let obj = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        let sw = try XCTUnwrap(obj["software_accuracy"] as? Double)
        XCTAssertEqual(sw, trained["test_accuracy"] as! Double, accuracy: 1e-12, "the run folder reloads the trained model")
        XCTAssertEqual(try XCTUnwrap(obj["hardware_accuracy"] as? Double), sw, accuracy: 0.011, "lossless ADC")
        XCTAssertEqual(((obj["chip"] as? [String: Any])?["layers"] as? [Any])?.count, 2, "conv2 and fc1 mapped")
        let lossy = try run(bin, ["cim", "report", "--checkpoint", folder, "--abits", "4", "--device", "rram",
                                  "--adc-bits", "3", "--variation", "0.3", "--limit-test", "200", "--json"])
        XCTAssertEqual(lossy.status, 0, lossy.err)
        let l = try JSONSerialization.jsonObject(with: Data(lossy.out.utf8)) as! [String: Any]
        XCTAssertNotEqual(l["hardware_accuracy"] as? Double, obj["hardware_accuracy"] as? Double)
    }
}

extension CIMCLITests {
    /// `bwma bench step --cim-adc-bits B`: CIM-aware training steps; needs binary weights and a valid ADC.
    func testBenchStepThroughTheChip() throws {
        let bin = try binary
        let step = ["bench", "step", "--batch", "2", "--steps", "1", "--warmup", "0", "--input", "1x8x8", "--json"]
        let r = try run(bin, step + ["--quant", "bwma", "--abits", "4", "--cim-adc-bits", "5"])
        XCTAssertEqual(r.status, 0, r.err)
        let j = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        XCTAssertEqual((j?["cim_adc_bits"] as? NSNumber)?.intValue, 5, r.out)
        let kernels = ["AND+popcount", "u8s8 GEMM", "fp32 SGEMM"]
        XCTAssert(kernels.contains { (j?["cim_kernel"] as? String)?.hasPrefix($0) == true }, r.out)
        XCTAssertGreaterThan((j?["images_per_s"] as? NSNumber)?.doubleValue ?? 0, 0, r.out)
        let plain = try run(bin, step + ["--quant", "bwma", "--abits", "4"])
        let p = try JSONSerialization.jsonObject(with: Data(plain.out.utf8)) as? [String: Any]
        XCTAssertEqual((p?["cim_adc_bits"] as? NSNumber)?.intValue, 0, plain.out)
        XCTAssertEqual(p?["cim_kernel"] as? String, "", plain.out)
        let fp32 = try run(bin, step + ["--cim-adc-bits", "5"])
        XCTAssertNotEqual(fp32.status, 0)
        XCTAssert(fp32.err.contains("--cim-adc-bits needs --quant bwn or bwma"), fp32.err)
        XCTAssert(fp32.out.isEmpty, fp32.out)
        let bad = try run(bin, step + ["--quant", "bwma", "--cim-adc-bits", "40"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssert(bad.err.contains("--cim-adc-bits") && bad.err.contains("adc_bits"), bad.err)
    }
}
