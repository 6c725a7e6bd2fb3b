import Optim
import Training
import XCTest

final class LRScheduleTests: XCTestCase {
    func testCosineEndpointsAndMidpoint() {
        let s = LRSchedule(baseLR: 0.1, decay: .cosine(minLR: 0), totalSteps: 100)
        XCTAssertEqual(s.lr(at: 0), 0.1, accuracy: 1e-12)
        XCTAssertEqual(s.lr(at: 50), 0.05, accuracy: 1e-12)
        XCTAssertEqual(s.lr(at: 25), 0.05 * (1 + cos(Double.pi / 4)), accuracy: 1e-12)
        XCTAssertEqual(s.lr(at: 99), 0.05 * (1 + cos(Double.pi * 0.99)), accuracy: 1e-12)
        let floor = LRSchedule(baseLR: 0.1, decay: .cosine(minLR: 0.01), totalSteps: 10)
        XCTAssertEqual(floor.lr(at: 10), 0.01, accuracy: 1e-12)
    }

    func testLinearWarmupThenCosine() {
        let s = LRSchedule(baseLR: 0.4, decay: .cosine(minLR: 0), warmupSteps: 4, totalSteps: 14)
        for (t, expected) in [0.1, 0.2, 0.3, 0.4].enumerated() { XCTAssertEqual(s.lr(at: t), expected, accuracy: 1e-12) }
        XCTAssertEqual(s.lr(at: 4), 0.4, accuracy: 1e-12)
        XCTAssertEqual(s.lr(at: 9), 0.2, accuracy: 1e-12)  // halfway through the 10 cosine steps
    }

    func testStepAndMultiStep() {
        let st = LRSchedule(baseLR: 1, decay: .step(every: 3, gamma: 0.5), totalSteps: 10)
        XCTAssertEqual((0..<7).map { st.lr(at: $0) }, [1, 1, 1, 0.5, 0.5, 0.5, 0.25])
        let ms = LRSchedule(baseLR: 1, decay: .multiStep(milestones: [2, 5], gamma: 0.1), totalSteps: 10)
        XCTAssertEqual(ms.lr(at: 1), 1)
        XCTAssertEqual(ms.lr(at: 2), 0.1, accuracy: 1e-12)
        XCTAssertEqual(ms.lr(at: 6), 0.01, accuracy: 1e-12)
    }
}
