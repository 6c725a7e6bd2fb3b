import Data
import Foundation
import TensorEngine

/// Single-thread JPEG pipeline throughput on a folder of images (`bwma bench data`): libjpeg-turbo's full decode
/// against the loader's decode + RandomResizedCrop + flip (with and without DCT-domain scaling) and the
/// evaluation resize + center crop. Every variant reads each file from the page cache the same way.
public enum DataBenchmark {
    public struct Row: Codable, Sendable {
        public var variant: String
        public var images_per_s: Double
        public var vs_full_decode: Double
    }

    public struct Result: Codable, Sendable {
        public var files: Int
        public var list_s: Double
        public var rounds: Int
        public var rows: [Row]
    }

    /// - Parameters:
    ///   - rounds: passes over the files per variant; 0 only lists the tree.
    public static func run(folder root: String, rounds: Int, size: Int) throws -> Result {
        let t0 = ProcessClock.now()
        let folder = try ImageFolder.scan(root: root, strict: false)
        let listSeconds = ProcessClock.now() - t0
        guard rounds > 0 else { return Result(files: folder.count, list_s: listSeconds, rounds: 0, rows: []) }
        guard folder.count > 0 else { throw DataError.inconsistent(path: root, reason: "no JPEG files") }
        let scratch = RenderScratch()
        let fast = ImageFolderDataset(name: "bench", folder: folder, dctScaling: true)
        let exact = ImageFolderDataset(name: "bench", folder: folder, dctScaling: false)
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: 3 * size * size)
        defer { out.deallocate() }

        func timed(_ body: (Int, Int) throws -> Void) rethrows -> Double {
            try body(0, 0)  // warm the page cache and the buffers
            let start = ProcessClock.now()
            for r in 0..<rounds { for i in 0..<folder.count { try body(r, i) } }
            return Double(rounds * folder.count) / (ProcessClock.now() - start)
        }
        let decoder = JPEGDecoder()
        var file = [UInt8]()
        let full = try timed { _, i in
            let n = try ImageFolderDataset.readFile(folder.path(i), into: &file)
            try file.withUnsafeBytes { b in _ = try decoder.decode(UnsafeRawBufferPointer(rebasing: b[0..<n]), path: "") }
        }
        // The decode part of the training pipeline alone: the RandomResizedCrop region, no resampling.
        let regionOnly = try timed { r, i in
            let n = try ImageFolderDataset.readFile(folder.path(i), into: &file)
            try file.withUnsafeBytes { b in
                let bytes = UnsafeRawBufferPointer(rebasing: b[0..<n])
                let h = try JPEGDecoder.header(bytes, path: "")
                var rng = BatchLoader.sampleRNG(seed: 0, epoch: r, index: i)
                let plan = SamplePlan.draw(.imagenetTrain(size: size), width: h.width, height: h.height, rng: &rng)!
                _ = try decoder.decode(bytes, path: "", box: plan.clip)
            }
        }
        func pipeline(_ d: ImageFolderDataset, _ a: Augmentation) throws -> Double {
            try timed { r, i in
                var rng = BatchLoader.sampleRNG(seed: 0, epoch: r, index: i)
                try d.render(i, augmentation: a, rng: &rng, into: out, scratch: scratch)
            }
        }
        let rows: [(String, Double)] = [
            ("full decode (libjpeg-turbo)", full),
            ("decode of the crop region only", regionOnly),
            ("decode + RandomResizedCrop + flip", try pipeline(fast, .imagenetTrain(size: size))),
            ("same, without DCT scaling", try pipeline(exact, .imagenetTrain(size: size))),
            ("decode + resize + center crop", try pipeline(fast, .imagenetEval(size: size))),
        ]
        return Result(files: folder.count, list_s: listSeconds, rounds: rounds,
                      rows: rows.map { Row(variant: $0.0, images_per_s: $0.1, vs_full_decode: $0.1 / full) })
    }
}
