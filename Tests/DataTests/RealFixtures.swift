import Foundation
import XCTest

/// The real-data fixtures copied from ../shared/fixtures (see Fixtures/README.md).
enum RealFixtures {
    static func path(_ relative: String) throws -> String {
        try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(relative)", withExtension: nil),
                      "missing test fixture \(relative)").path
    }

    /// Pillow's view of the test JPEGs (Fixtures/make_jpeg_reference.py).
    struct Reference: Decodable {
        struct Image: Decodable {
            var width: Int, height: Int
            var sums: [Int]
            /// [y, x, [r, g, b]]
            var samples: [[Sample]]
            var file: String?
            var box: [Int]?
        }
        enum Sample: Decodable {
            case int(Int), rgb([Int])
            init(from d: Decoder) throws {
                let c = try d.singleValueContainer()
                if let i = try? c.decode(Int.self) { self = .int(i) } else { self = .rgb(try c.decode([Int].self)) }
            }
        }
        var decode: [String: Image]
        var rrc: [Image]
        var eval: [Image]
    }

    static func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Foundation.Data(contentsOf: URL(fileURLWithPath: try path("jpeg_reference.json"))))
    }
}

extension RealFixtures.Reference.Image {
    /// Checks planar RGB bytes [3, height, width] against the reference sums and samples.
    func check(_ p: UnsafePointer<UInt8>, width w: Int, height h: Int, _ what: String,
               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(w, width, "\(what): width", file: file, line: line)
        XCTAssertEqual(h, height, "\(what): height", file: file, line: line)
        guard w == width && h == height else { return }
        for c in 0..<3 {
            var s = 0
            for k in 0..<(w * h) { s += Int(p[c * w * h + k]) }
            XCTAssertEqual(s, sums[c], "\(what): channel \(c) pixel sum", file: file, line: line)
        }
        for sample in samples {
            guard case .int(let y) = sample[0], case .int(let x) = sample[1], case .rgb(let rgb) = sample[2] else {
                XCTFail("bad reference sample"); return
            }
            let got = (0..<3).map { Int(p[$0 * w * h + y * w + x]) }
            XCTAssertEqual(got, rgb, "\(what): pixel (\(x), \(y))", file: file, line: line)
        }
    }
}
