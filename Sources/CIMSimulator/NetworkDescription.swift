import Foundation

/// A network described as DNN+NeuroSim describes one (its `NetWork_*.csv`): one row per convolution or fully
/// connected layer — input height, width and channels, kernel height and width, output channels, pooling after the
/// layer, stride — and optionally padding as a ninth column (NeuroSim's own files omit it: "same" padding,
/// ⌊kernel / 2⌋, is assumed then). A header line of column names is allowed. Every layer is mapped with binary
/// weights and k-bit inputs, as NeuroSim maps a network whose precisions are all given by the chip settings.
public enum NetworkDescription {
    /// The layer shapes of the CSV text `text`; errors name `file`, the line and what was expected.
    public static func parse(_ text: String, file: String) throws -> [LayerShape] {
        var shapes: [LayerShape] = []
        for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            let values = cells.map { Int($0) }
            if values.allSatisfy({ $0 == nil }) && shapes.isEmpty { continue }  // a header
            func fail(_ why: String) -> CIMError {
                CIMError.invalid(key: "\(file):\(n + 1)", value: "'\(line)'", expected: why)
            }
            guard cells.count == 8 || cells.count == 9 else {
                throw fail("8 or 9 comma-separated integers (ifm_h, ifm_w, ifm_c, kernel_h, kernel_w, ofm_c, "
                           + "pool_after, stride[, pad])")
            }
            guard let v = values as? [Int] else { throw fail("integers only") }
            let (h, w, cin, kh, kw, cout, stride) = (v[0], v[1], v[2], v[3], v[4], v[5], v[7])
            guard [h, w, cin, kh, kw, cout, stride].allSatisfy({ $0 >= 1 }) else {
                throw fail("sizes, channels and stride >= 1")
            }
            guard h <= 1 << 16, w <= 1 << 16, cin <= 1 << 20, cout <= 1 << 20, kh <= 64, stride <= 64 else {
                throw fail("at most 65536 x 65536 inputs, 2^20 channels, 64 x 64 kernels and stride 64")
            }
            guard kh == kw else { throw fail("a square kernel (kernel_h = kernel_w)") }
            let pad = cells.count == 9 ? v[8] : kh / 2
            guard pad >= 0, pad < kh, h + 2 * pad >= kh, w + 2 * pad >= kw else {
                throw fail("padding in 0..<kernel with the kernel fitting the padded input")
            }
            let oh = (h + 2 * pad - kh) / stride + 1, ow = (w + 2 * pad - kw) / stride + 1
            guard Double(oh) * Double(ow) * Double(cin * kh * kw) * Double(cout) <= 1e15 else {
                throw fail("a layer of at most 10^15 multiply-accumulates")
            }
            let fc = h == 1 && w == 1 && kh == 1
            shapes.append(LayerShape(name: "layer\(shapes.count + 1)", kind: fc ? "fc" : "conv", inChannels: cin,
                                     outChannels: cout, kernel: kh, stride: stride, inHeight: h, inWidth: w,
                                     outHeight: oh, outWidth: ow, binarized: true))
        }
        guard !shapes.isEmpty else {
            throw CIMError.invalid(key: file, value: "no layer rows", expected: "at least one layer")
        }
        return shapes
    }

    /// Reads and parses `path`.
    public static func load(_ path: String) throws -> [LayerShape] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CIMError.invalid(key: path, value: "unreadable", expected: "a readable NeuroSim network CSV")
        }
        guard data.count <= 1 << 20 else {
            throw CIMError.invalid(key: path, value: "\(data.count) bytes", expected: "a network CSV of at most 1 MiB")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }
}
