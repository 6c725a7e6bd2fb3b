import Models
import TensorEngine
import XCTest

final class ModelZooTests: XCTestCase {
    /// Published parameter counts: CIFAR ResNets (He et al. 2016, Table 6: 0.27M/0.46M/0.66M/0.85M) and torchvision's
    /// resnet18 (11,689,512). Exact CIFAR counts with option-A shortcuts and BN affine parameters:
    /// ResNet-20 = conv1 432 + BN 32 + stage 1 (6·2304 + 6·32) + stage 2 (4608 + 5·9216 + 6·64)
    ///           + stage 3 (18432 + 5·36864 + 6·128) + FC 650 = 269,722; each extra block pair per stage
    /// (ResNet-32/44/56) adds 2·(2·2304 + 2·32) + 2·(2·9216 + 2·64) + 2·(2·36864 + 2·128) = 194,432.
    func testParameterCountsMatchPublishedModels() throws {
        let expected = ["resnet20": 269_722, "resnet32": 464_154, "resnet44": 658_586, "resnet56": 853_018]
        for (arch, count) in expected {
            let m = try ModelZoo.make(arch, inputShape: [3, 32, 32], numClasses: 10)
            XCTAssertEqual(m.parameterCount, count, arch)
        }
        let r18 = try ModelZoo.make("resnet18", inputShape: [3, 224, 224], numClasses: 1000)
        XCTAssertEqual(r18.parameterCount, 11_689_512)
        // VGG-small on 32x32: convs 3·128·9 + 128·128·9 + 128·256·9 + 256·256·9 + 256·512·9 + 512·512·9,
        // BN 2·(128+128+256+256+512+512), FC 512·4·4·10 + 10; convs have no bias.
        let vgg = try ModelZoo.make("vgg-small", inputShape: [3, 32, 32], numClasses: 10)
        let convs = 9 * (3 * 128 + 128 * 128 + 128 * 256 + 256 * 256 + 256 * 512 + 512 * 512)
        XCTAssertEqual(vgg.parameterCount, convs + 2 * (128 + 128 + 256 + 256 + 512 + 512) + 8192 * 10 + 10)
    }

    func testOutputShapesForConfigurableInputs() throws {
        let cases: [(String, [Int], Int)] = [
            ("smallcnn", [1, 28, 28], 10), ("resnet20", [1, 28, 28], 10), ("resnet20", [3, 32, 32], 100),
            ("resnet32", [1, 12, 12], 7), ("resnet18", [3, 64, 64], 5), ("vgg-small", [1, 28, 28], 10),
        ]
        for (arch, shape, classes) in cases {
            let m = try ModelZoo.make(arch, inputShape: shape, numClasses: classes)
            let x = Tensor(shape: [2] + shape)
            for i in 0..<x.count { x.data[i] = Float(i % 13) / 13 }
            let y = m.forward(x, training: false)
            XCTAssertEqual(y.shape, [2, classes], "\(arch) \(shape)")
            XCTAssert(y.array.allSatisfy(\.isFinite), arch)
        }
    }

    func testUnknownModelAndBadShapesAreClearErrors() {
        XCTAssertThrowsError(try ModelZoo.make("resnet21", inputShape: [3, 32, 32], numClasses: 10)) {
            XCTAssert("\($0)".contains("unknown model 'resnet21'"))
            XCTAssert("\($0)".contains("resnet20"))
        }
        XCTAssertThrowsError(try ModelZoo.make("resnet18", inputShape: [3, 16, 16], numClasses: 10))
        XCTAssertThrowsError(try ModelZoo.make("resnet20", inputShape: [3, 32], numClasses: 10))
        XCTAssertThrowsError(try ModelZoo.make("resnet20", inputShape: [3, 32, 32], numClasses: 1))
    }

    /// PyTorch's defaults: conv/linear weights U(±1/√fan_in), BN γ = 1, β = 0, running stats 0 / 1.
    func testDefaultInitialisation() throws {
        let m = try ModelZoo.make("resnet20", inputShape: [3, 32, 32], numClasses: 10, seed: 3)
        let w = try XCTUnwrap(m.store["layer2.0.conv1.weight"])  // fan_in 16·9
        let bound = 1 / Float(144).squareRoot()
        XCTAssert(w.values.allSatisfy { abs($0) <= bound })
        let meanAbs = w.values.map { abs($0) }.reduce(0, +) / Float(w.count)
        XCTAssertEqual(meanAbs, bound / 2, accuracy: bound * 0.05)  // E|U(−b, b)| = b/2
        XCTAssertEqual(try XCTUnwrap(m.store["bn1.weight"]).values, [Float](repeating: 1, count: 16))
        XCTAssertEqual(try XCTUnwrap(m.store["bn1.running_var"]).values, [Float](repeating: 1, count: 16))
        XCTAssertEqual(try XCTUnwrap(m.store["fc.bias"]).count, 10)
        // Same seed, same weights; another seed, others.
        let m2 = try ModelZoo.make("resnet20", inputShape: [3, 32, 32], numClasses: 10, seed: 3)
        let m3 = try ModelZoo.make("resnet20", inputShape: [3, 32, 32], numClasses: 10, seed: 4)
        XCTAssertEqual(m.store["fc.weight"]!.values, m2.store["fc.weight"]!.values)
        XCTAssertNotEqual(m.store["fc.weight"]!.values, m3.store["fc.weight"]!.values)
    }
}
