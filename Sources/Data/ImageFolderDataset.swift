import Foundation
import TensorEngine

/// JPEG images in an ImageFolder tree, decoded on demand with libjpeg-turbo. Each sample decodes only the region
/// its crop reads, at a reduced DCT scale when `dctScaling` allows (see `SamplePlan.dctScale`).
public struct ImageFolderDataset: SampleSource {
    public let name: String
    public let folder: ImageFolder
    /// Decode at 1/2, 1/4, 1/8 when the crop is reduced at least that much (faster; pixels then differ slightly
    /// from a full-size decode followed by the same resize).
    public let dctScaling: Bool

    public init(name: String, folder: ImageFolder, dctScaling: Bool) {
        self.name = name; self.folder = folder; self.dctScaling = dctScaling
    }

    public var count: Int { folder.count }
    public var numClasses: Int { folder.classNames.count }
    public var channels: Int { 3 }
    public var classNames: [String] { folder.classNames }
    public func label(_ i: Int) -> Int32 { folder.labels[i] }

    public func outputShape(_ a: Augmentation) throws -> [Int] {
        guard a.fixesSize else {
            throw DataError.inconsistent(path: folder.root, reason: "images in a folder differ in size: data.augment must "
                + "resize them (random-resized-crop for training, resize-center-crop for evaluation)")
        }
        return a.outputShape(channels: 3, height: 0, width: 0)
    }

    public func render(_ i: Int, augmentation: Augmentation, rng: inout RNG, into out: UnsafeMutablePointer<UInt8>,
                       scratch: RenderScratch) throws {
        let path = folder.path(i)
        let size = try Self.readFile(path, into: &scratch.file)
        try scratch.file.withUnsafeBytes { whole in
            let bytes = UnsafeRawBufferPointer(rebasing: whole[0..<size])
            let header = try JPEGDecoder.header(bytes, path: path)
            guard header.width > 0, header.height > 0 else {
                throw DataError.badSample(path: path, reason: "JPEG of size \(header.width)x\(header.height)")
            }
            guard var plan = SamplePlan.draw(augmentation, width: header.width, height: header.height, rng: &rng) else {
                throw DataError.inconsistent(path: folder.root, reason: "augmentation \(augmentation) does not resize")
            }
            var scale = 1
            if dctScaling {
                scale = plan.dctScale()
                if scale > 1 {
                    let s = JPEGDecoder.scaledSize(width: header.width, height: header.height, scale: scale)
                    plan = plan.scaled(by: scale, scaledWidth: s.width, scaledHeight: s.height)
                }
            }
            // Decode only the pixels the filters read.
            let filters = (Resampler.coefficients(plan.columns), Resampler.coefficients(plan.rows))
            let cols = filters.0.sourceRange, rows = filters.1.sourceRange
            let box = CropBox(x: plan.clip.x + cols.lowerBound, y: plan.clip.y + rows.lowerBound, width: cols.count,
                              height: rows.count)
            let (view, region) = try scratch.jpeg.decode(bytes, path: path, scale: scale, box: box)
            scratch.jpegWarnings += region.warnings
            plan.render(view, clipAtX: plan.clip.x - region.x, y: plan.clip.y - region.y, into: out,
                        scratch: scratch.resampler, coefficients: filters)
        }
    }

    /// Reads a whole file into the front of `buffer` (grown as needed, reused between samples); returns its size.
    public static func readFile(_ path: String, into buffer: inout [UInt8]) throws -> Int {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DataError.badSample(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw DataError.badSample(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        guard size > 0 else { throw DataError.badSample(path: path, reason: "empty file") }
        if buffer.count < size { buffer = [UInt8](repeating: 0, count: size + size / 2) }
        let got = buffer.withUnsafeMutableBytes { b -> Int in
            var done = 0
            while done < size {
                let n = Foundation.read(fd, b.baseAddress! + done, size - done)
                if n <= 0 { break }
                done += n
            }
            return done
        }
        guard got == size else { throw DataError.badSample(path: path, reason: "read \(got) of \(size) bytes") }
        return size
    }
}
