import Optim
import TensorEngine
import Training
import XCTest

/// Optimiser steps against values computed by hand from PyTorch's update rules (derivations in the comments;
/// the same numbers come out of torch.optim with the same inputs).
final class OptimizerTests: XCTestCase {
    /// One parameter tensor [2] with constant gradient g each step.
    func store(_ p: [Float]) -> (ParameterStore, Parameter) {
        let s = ParameterStore()
        let w = s.parameter("w", shape: [p.count])
        s.finalize()
        for i in 0..<p.count { w.value[i] = p[i] }
        return (s, w)
    }

    func setGrad(_ w: Parameter, _ g: [Float]) { for i in 0..<g.count { w.grad[i] = g[i] } }

    func testSGDNesterovWithWeightDecay() {
        let (s, w) = store([1, -2])
        let sgd = SGD(store: s, momentum: 0.9, weightDecay: 0.01, nesterov: true)
        // Step 1 (element 0): d = 0.5 + 0.01·1 = 0.51; b = d = 0.51; update d + 0.9·b = 0.969; θ = 1 − 0.1·0.969 = 0.9031.
        // Element 1: d = −1 + 0.01·(−2) = −1.02; update −1.02·1.9 = −1.938; θ = −2 + 0.1938 = −1.8062.
        setGrad(w, [0.5, -1]); sgd.step(lr: 0.1)
        XCTAssertEqual(w.values[0], 0.9031, accuracy: 1e-6)
        XCTAssertEqual(w.values[1], -1.8062, accuracy: 1e-6)
        // Step 2: d = 0.5 + 0.01·0.9031 = 0.509031; b = 0.9·0.51 + d = 0.968031; update d + 0.9·b = 1.3802589;
        // θ = 0.9031 − 0.13802589 = 0.76507411.
        setGrad(w, [0.5, -1]); sgd.step(lr: 0.1)
        XCTAssertEqual(w.values[0], 0.76507411, accuracy: 1e-6)
        XCTAssertEqual(sgd.momentumBuffer[0], 0.968031, accuracy: 1e-6)
    }

    func testSGDPlainMomentumAndNoMomentum() {
        let (s, w) = store([1, 1])
        let sgd = SGD(store: s, momentum: 0.9)
        setGrad(w, [1, 2]); sgd.step(lr: 0.1)  // θ = 1 − 0.1·g → 0.9, 0.8
        setGrad(w, [1, 2]); sgd.step(lr: 0.1)  // b = 0.9·g + g = 1.9g → 0.9 − 0.19 = 0.71, 0.8 − 0.38 = 0.42
        XCTAssertEqual(w.values[0], 0.71, accuracy: 1e-6)
        XCTAssertEqual(w.values[1], 0.42, accuracy: 1e-6)
        let (s2, w2) = store([1])
        let plain = SGD(store: s2, weightDecay: 0.5)
        setGrad(w2, [1]); plain.step(lr: 0.1)  // θ = 1 − 0.1·(1 + 0.5) = 0.85
        XCTAssertEqual(w2.values[0], 0.85, accuracy: 1e-6)
    }

    func testAdamAndAdamW() {
        // Adam, g = 0.5 twice, lr 0.1: m̂ = 0.5, v̂ = 0.25 both steps → θ moves by 0.1·0.5/(0.5 + 1e-8) each step.
        let (s, w) = store([1])
        let adam = Adam(store: s)
        setGrad(w, [0.5]); adam.step(lr: 0.1)
        XCTAssertEqual(w.values[0], 0.9, accuracy: 1e-6)
        setGrad(w, [0.5]); adam.step(lr: 0.1)
        XCTAssertEqual(w.values[0], 0.8, accuracy: 1e-6)
        // Step 3 with g = −0.5: m = 0.9·0.095 − 0.05 = 0.0355, m̂ = 0.0355/0.271 = 0.130996;
        // v = 0.999·0.00049975 + 0.00025 = 0.00074925025, v̂ = v/0.002997001 = 0.25 → θ = 0.8 − 0.1·0.130996/0.5.
        setGrad(w, [-0.5]); adam.step(lr: 0.1)
        XCTAssertEqual(w.values[0], 0.8 - 0.1 * 0.0355 / 0.271 / 0.5, accuracy: 1e-5)

        // AdamW (decoupled, λ = 0.1): θ ← θ·(1 − 0.1·0.1) first: 0.99, then − 0.1 → 0.89.
        let (s2, w2) = store([1])
        let adamw = Adam(store: s2, weightDecay: 0.1, decoupled: true)
        setGrad(w2, [0.5]); adamw.step(lr: 0.1)
        XCTAssertEqual(w2.values[0], 0.89, accuracy: 1e-6)
        // Adam with L2 (λ = 1): g' = 0.5 + 1 = 1.5 → first step still moves by lr (m̂/√v̂ = 1) → 0.9, but the
        // second sees g' = 0.5 + 0.9 = 1.4: m = 0.9·0.15 + 0.14 = 0.275, m̂ = 1.447368; v = 0.999·0.00225 + 0.00196
        // = 0.00420775, v̂ = 2.104927 → θ = 0.9 − 0.1·1.447368/1.450837.
        let (s3, w3) = store([1])
        let adamL2 = Adam(store: s3, weightDecay: 1)
        setGrad(w3, [0.5]); adamL2.step(lr: 0.1)
        setGrad(w3, [0.5]); adamL2.step(lr: 0.1)
        XCTAssertEqual(w3.values[0], 0.9 - 0.1 * 1.447368 / 1.450837, accuracy: 1e-5)
    }
}
