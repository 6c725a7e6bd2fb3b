import Foundation
import Models
import Quantization
import RunConfiguration
import TensorEngine
import Training
import XCTest

/// The export's graph metadata and the batch-norm fold (docs/export.md). Tests/torch/run.sh checks the whole file
/// against PyTorch.
final class ExportTests: XCTestCase {
    func w1a4(_ arch: String, _ shape: [Int]) throws -> Model {
        try ModelZoo.make(arch, inputShape: shape, numClasses: 10, seed: 5,
                          quant: try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4))
    }

    /// ResNet-20's graph: stem, nine blocks with identity and option-A shortcuts (channels centred: 8 and 16 zero
    /// channels in front), pooling and the classifier; binarized layers carry their 4-bit input rule.
    func testGraphDescribesResNet20() throws {
        let g = ModelGraph.describe(try w1a4("resnet20", [3, 32, 32]))
        XCTAssertEqual(g.map(\.op), ["conv2d", "batchnorm2d"] + Array(repeating: "basic_block", count: 9)
            + ["global_avgpool2d", "linear"])
        XCTAssertEqual(g[0].binaryWeights, false)
        XCTAssertNil(g[0].inputQuant)
        XCTAssertEqual(g[1].relu, true)
        let blocks = g.filter { $0.op == "basic_block" }
        XCTAssertEqual(blocks.map { $0.shortcut?.kind }, ["identity", "identity", "identity", "option_a", "identity",
                                                         "identity", "option_a", "identity", "identity"])
        XCTAssertEqual(blocks[3].shortcut, .init(kind: "option_a", stride: 2, padFront: 8, outChannels: 32))
        XCTAssertEqual(blocks[6].shortcut?.padFront, 16)
        let conv = try XCTUnwrap(blocks[3].body?.first)
        XCTAssertEqual(conv.name, "layer2.0.conv1")
        XCTAssertEqual(conv.stride, [2, 2])
        XCTAssertEqual(conv.binaryWeights, true)
        XCTAssertEqual(conv.inputQuant?.bits, 4)
        XCTAssertEqual(conv.inputQuant?.levels, 15)
        XCTAssertEqual(conv.inputQuant?.quantizer, "bwma")
        XCTAssertEqual(g.last?.binaryWeights, false)
    }

    /// ResNet-18: max-pool after the stem, projection shortcuts (1x1 stride-2 convolution + batch norm).
    func testGraphDescribesResNet18Projections() throws {
        let g = ModelGraph.describe(try w1a4("resnet18", [3, 32, 32]))
        XCTAssertEqual(g[2].op, "maxpool2d")
        XCTAssertEqual(g[2].kernel, [3, 3]); XCTAssertEqual(g[2].stride, [2, 2]); XCTAssertEqual(g[2].padding, [1, 1])
        let projection = try XCTUnwrap(g.first { $0.name == "layer2.0" }?.shortcut)
        XCTAssertEqual(projection.kind, "projection")
        XCTAssertEqual(projection.body?.map(\.op), ["conv2d", "batchnorm2d"])
        XCTAssertEqual(projection.body?.first?.kernel, [1, 1])
        XCTAssertEqual(projection.body?.first?.name, "layer2.0.downsample.0")
    }

    /// The fold removes every batch norm of ResNet-20 (each follows a convolution), keeps B/α/β, turns fused ReLUs
    /// into relu nodes, and its out_scale/out_bias reproduce the engine's evaluation batch norm bit for bit, on
    /// NCHW and channels-last tensors.
    func testFoldedBatchNormEqualsTheEngineBitForBit() throws {
        let m = try w1a4("resnet20", [1, 16, 16])
        var rng = RNG(seed: 9)
        let bns = m.leaves.compactMap { $0 as? BatchNorm2d }
        for bn in bns {
            for c in 0..<bn.channels {
                bn.gamma.value[c] = rng.uniform() * 2 - 0.5; bn.beta.value[c] = rng.uniform() - 0.5
                bn.runningMean.value[c] = rng.uniform() - 0.5; bn.runningVar.value[c] = rng.uniform() * 3 + 1e-3
            }
        }
        let plain = try DeployableExport.file(model: m, config: RunConfig())
        let folded = try DeployableExport.file(model: m, config: RunConfig(), foldBatchNorm: true)
        XCTAssertEqual(plain.metadata["folded_bn"], "false")
        XCTAssertEqual(folded.metadata["folded_bn"], "true")
        let graph = try JSONDecoder.snakeCase.decode([GraphNode].self, from: Data(folded.metadata["graph"]!.utf8))
        func ops(_ g: [GraphNode]) -> [String] { g.flatMap { [$0.op] + ops($0.body ?? []) } }
        XCTAssertFalse(ops(graph).contains("batchnorm2d"))
        XCTAssertEqual(graph.prefix(2).map(\.op), ["conv2d", "relu"])
        XCTAssertEqual(graph[2].body?.map(\.op), ["conv2d", "relu", "conv2d"])
        XCTAssertEqual(folded.tensors["layer1.0.conv1.B"], plain.tensors["layer1.0.conv1.B"])
        XCTAssertNil(folded.tensors["layer1.0.bn1.weight"])
        for bn in bns {
            let conv = bn.gamma.name == "bn1.weight" ? "conv1" : bn.gamma.name.replacingOccurrences(of: "bn", with: "conv")
                .replacingOccurrences(of: ".weight", with: "")
            let s = try XCTUnwrap(folded.tensors["\(conv).out_scale"]).floats
            let t = try XCTUnwrap(folded.tensors["\(conv).out_bias"]).floats
            let (n, hw, c) = (2, 5, bn.channels)
            let x = (0..<(n * c * hw)).map { _ in rng.uniform() * 4 - 2 }
            for channelsLast in [false, true] {
                var y = [Float](repeating: 0, count: x.count)
                BatchNormKernel.forwardInference(y: &y, x: x, gamma: bn.gamma.value, beta: bn.beta.value,
                                                 runningMean: bn.runningMean.value, runningVar: bn.runningVar.value,
                                                 batch: n, channels: c, spatial: hw, eps: bn.eps, relu: bn.fusedReLU,
                                                 channelsLast: channelsLast)
                for i in x.indices {
                    let ch = channelsLast ? i % c : (i / hw) % c
                    let v = x[i] * s[ch] + t[ch]
                    XCTAssertEqual(y[i], bn.fusedReLU ? max(v, 0) : v, "\(conv) element \(i) channelsLast \(channelsLast)")
                }
            }
        }
    }
}

extension JSONDecoder {
    static var snakeCase: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }
}
