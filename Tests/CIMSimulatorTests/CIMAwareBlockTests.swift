import CIMSimulator
import Models
import Quantization
import TensorEngine
import XCTest

/// CIM-aware training (every binarized layer's forward through the simulated chip) with residual blocks that fuse
/// their first convolution's quantizer backward into the masked input-gradient sum.
final class CIMAwareBlockTests: XCTestCase {
    override func tearDown() { EngineContext.threads = 1 }

    /// ResNet-20 W1A4 on a lossy chip (5-bit ADC, variation): one forward through the datapaths and one backward
    /// give the same gradients bit for bit with the blocks' fusion (`BasicBlock.fusesInputQuantizer`) and without
    /// it, on one and two workers; the fusion runs on the chained blocks.
    func testFusedBlockGradientThroughTheChipIsTheTwoPasses() throws {
        func blocks(_ l: Layer) -> [BasicBlock] { (l as? BasicBlock).map { [$0] } ?? l.children.flatMap(blocks) }
        var config = CIMConfig()
        config.adcBits = 5; config.variation = 0.1
        for threads in [1, 2] {
            EngineContext.threads = threads
            func gradients(fused: Bool) throws -> [UInt32] {
                let m = try ModelZoo.make("resnet20", inputShape: [1, 12, 12], numClasses: 10, seed: 8,
                                          quant: try QuantPolicy(weights: .bwma, activations: .bwma, abits: 4))
                XCTAssertFalse(HardwareAwareInference.attach(to: m, config: config).isEmpty)
                for b in blocks(m.network) { b.fusesInputQuantizer = fused }
                var rng = RNG(seed: 10)
                let x = Tensor(shape: [4, 1, 12, 12]), dLogits = Tensor(shape: [4, 10])
                for i in 0..<x.count { x.data[i] = rng.normal() }
                for i in 0..<dLogits.count { dLogits.data[i] = rng.normal() }
                m.store.zeroGrad()
                _ = m.forward(x, training: true)
                m.backward(dLogits)
                XCTAssertEqual(blocks(m.network).filter(\.fusedLastBackward).count, fused ? 6 : 0)
                return (0..<m.store.parameterCount).map { m.store.grads[$0].bitPattern }
            }
            let fused = try gradients(fused: true), twoPasses = try gradients(fused: false)
            XCTAssertEqual(fused, twoPasses, "\(threads) thread(s)")
            XCTAssertTrue(fused.contains { $0 != 0 })
        }
    }
}
