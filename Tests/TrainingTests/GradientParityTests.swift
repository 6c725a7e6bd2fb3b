import Foundation
import Models
import TestSupport
import TensorEngine
import XCTest

/// End-to-end check of the whole network against an independent implementation: ResNet-20 with PyTorch's initial
/// weights, on 32 real Fashion-MNIST images, must reproduce PyTorch's float64 loss and gradients
/// (fixture written by bench/make_parity_fixture.py).
///
/// Tolerance: per parameter tensor, max |g − g64| ≤ 1e-3 · max |g64|. Batch-norm backward cancels large terms
/// (M·dy − Σdy − x̂·Σ(dy·x̂)), so Float32 gradients of deep layers carry errors of ~1e-4 of their scale: measured on
/// this fixture, ours are at most 3.5e-4 off, PyTorch's own float32 ones 7e-5 (on a batch of 128 PyTorch's float32
/// gradients were 1.4e-2 off, ours 3.7e-3).
/// Runs on the reference backend and on oneDNN fp32 (launch/test sets BWMA_TEST_BACKEND); see `tolerance`.
final class GradientParityTests: XCTestCase {
    override func setUp() { EngineUnderTest.configure() }
    override func tearDown() { EngineUnderTest.reset() }

    func fixture(_ name: String) throws -> Data {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/resnet20-parity/\(name)", withExtension: nil))
        return try Data(contentsOf: url)
    }

    func floats(_ name: String) throws -> [Float] {
        try fixture(name).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// Of each tensor's largest gradient: 1e-3 on the reference backend (measured: max 1.5e-6, median 7e-7), 3e-3 on
    /// oneDNN (measured: max 8.4e-4, median 1.4e-4; its residual blocks agree with the reference ones to 5e-7, but
    /// one ReLU input of layer2.2 lies within the fp32 forward's error of zero, and the flipped mask reaches every
    /// gradient below it). The fixture's images are chosen away from ReLU kinks in float64
    /// (bench/make_parity_fixture.py: every ReLU input ≥ 3e-6 of its layer's std from zero); the first 32 images
    /// had a kink that moved gradients by 1 % under a 3e-7 input perturbation. A wrong kernel or layout gives O(1)
    /// errors.
    var tolerance: Float { EngineContext.usesDNNL ? 3e-3 : 1e-3 }

    func testResNet20LossAndGradientsMatchPyTorchFloat64() throws {
        let meta = try JSONSerialization.jsonObject(with: try fixture("meta.json")) as! [String: Any]
        let batch = meta["batch"] as! Int
        let model = try ModelZoo.make("resnet20", inputShape: [1, 28, 28], numClasses: 10)
        let params = try floats("params.f32"), reference = try floats("grad64.f32")
        XCTAssertEqual(params.count, model.parameterCount)
        for i in 0..<params.count { model.store.values[i] = params[i] }
        var labels = try fixture("labels.i32").withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        let x = Tensor(shape: [batch, 1, 28, 28], values: try floats("x.f32"))

        let logits = model.forward(x, training: true)
        let dLogits = Tensor(shape: logits.shape)
        let r = labels.withUnsafeMutableBufferPointer {
            SoftmaxCrossEntropy.forward(logits: logits.data, labels: $0.baseAddress!, batch: batch, classes: 10,
                                        dLogits: dLogits.data)
        }
        XCTAssertEqual(r.loss, meta["loss"] as! Double, accuracy: 1e-5)
        model.store.zeroGrad()
        model.backward(dLogits)
        var relative: [Float] = []
        for p in model.store.parameters {
            let ref = reference[p.offset..<(p.offset + p.count)]
            let scale = ref.map { abs($0) }.max()!
            let err = zip(ref, p.grads).map { abs($0 - $1) }.max()!
            relative.append(err / scale)
            XCTAssertLessThanOrEqual(err, tolerance * scale, "\(p.name): max error \(err) vs scale \(scale)")
        }
        let median = relative.sorted()[relative.count / 2]
        print("GradientParity \(EngineContext.summary): median relative error \(median), max \(relative.max()!)")
    }
}
