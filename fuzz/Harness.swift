// libFuzzer entry point for BWMA's input parsers (issue 15). One binary, the target chosen by BWMA_FUZZ_TARGET:
//   idx          IDXReader.read (gzip or raw) of the input as a file
//   cifar        CIFARReader.read of the input as a CIFAR-10 and a CIFAR-100 batch file
//   packed       PackedDataset.load of the input as a .bwpack file, every label and pixel read
//   safetensors  SafeTensors.decode, then Checkpoint.load of the input as a checkpoint file
//   jpeg         JPEGDecoder (the CJPEG shim): header, then a full decode when at most 1024x1024
//   config       ConfigLoader.load: YAML text before the first NUL byte, `--set` overrides (one per line) after it
//   network      NetworkDescription.load of the input as a NeuroSim network CSV, then the chip cost in both modes
// Built and run by fuzz/run.sh; any crash, sanitizer report or hang is a bug. Every thrown error is fine.
import CIMSimulator
import Data
import Foundation
import RunConfiguration
import Training

let target = ProcessInfo.processInfo.environment["BWMA_FUZZ_TARGET"] ?? ""
let scratch: String = {
    let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return "\(dir)/bwma-fuzz-\(getpid())"
}()

func asFile(_ bytes: UnsafeBufferPointer<UInt8>, _ name: String) -> String {
    try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    let path = "\(scratch)/\(name)"
    _ = FileManager.default.createFile(atPath: path, contents: Foundation.Data(buffer: bytes))
    return path
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    switch target {
    case "idx":
        let p = asFile(bytes, "x-idx3-ubyte")
        _ = try? IDXReader.read(p, expectedDims: 3)
        _ = try? IDXReader.read(p, expectedDims: 1)
    case "cifar":
        let p = asFile(bytes, "batch.bin")
        var pixels = [UInt8](), labels = [Int32]()
        _ = try? CIFARReader.read(path: p, variant: .cifar10, pixels: &pixels, into: &labels)
        _ = try? CIFARReader.read(path: p, variant: .cifar100, labels: .coarse, pixels: &pixels, into: &labels)
    case "packed":
        let p = asFile(bytes, "x.bwpack")
        if let (d, _) = try? PackedDataset.load(p) {
            var sum = 0
            for i in 0..<d.count {
                sum &+= Int(d.labels[i])
                let s = d.sample(i)
                for k in 0..<(d.channels * d.height * d.width) { sum &+= Int(s[k]) }
            }
            if sum == 42 { print("") }
        }
    case "safetensors":
        _ = try? SafeTensors.decode(Foundation.Data(buffer: bytes), path: "fuzz.safetensors")
        let p = asFile(bytes, "ck.safetensors")
        if let c = try? Checkpoint.load(p), let cfg = try? c.config(path: p) { _ = try? c.makeModel(config: cfg, path: p) }
    case "jpeg":
        let raw = UnsafeRawBufferPointer(bytes)
        if let h = try? JPEGDecoder.header(raw, path: "fuzz.jpg"), h.width * h.height <= 1 << 20 {
            _ = try? JPEGDecoder().decode(raw, path: "fuzz.jpg")
        }
    case "config":
        let split = bytes.firstIndex(of: 0) ?? bytes.count
        let text = String(decoding: bytes[..<split], as: UTF8.self)
        let overrides = split < bytes.count
            ? String(decoding: bytes[(split + 1)...], as: UTF8.self).split(separator: "\n").map(String.init) : []
        let p = asFile(UnsafeBufferPointer(rebasing: bytes[..<split]), "c.yaml")
        _ = text
        _ = try? ConfigLoader.load(path: p, overrides: overrides)
    case "network":
        if let shapes = try? NetworkDescription.load(asFile(bytes, "net.csv")) {
            var c = CIMConfig()
            for mode in ExecutionMode.allCases {
                c.mode = mode
                let r = CostModel.chip(shapes, c)
                if !(r.energy_pj.total.isFinite && r.area_mm2.total.isFinite) { fatalError("non-finite cost") }
            }
        }
    default:
        fatalError("set BWMA_FUZZ_TARGET to idx, cifar, packed, safetensors, jpeg, config or network")
    }
    return 0
}
