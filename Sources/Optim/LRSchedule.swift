import Foundation

/// Learning rate as a function of the optimiser step, evaluated per iteration.
///
/// With `warmupSteps` = W and `totalSteps` = T, step t (0-based, the t-th update) uses
/// - warm-up, t < W: η₀ · (t + 1) / W (linear from η₀/W up to η₀);
/// - then the decay rule on the remaining T − W steps, with s = t − W:
///   - `constant`: η₀;
///   - `step(every:gamma:)`: η₀ · γ^⌊s / every⌋;
///   - `multiStep(milestones:gamma:)`: η₀ · γ^(number of milestones ≤ s);
///   - `cosine(minLR:)`: η_min + ½(η₀ − η_min)(1 + cos(π s / (T − W))).
/// Step sizes and milestones are in optimiser steps; the trainer converts epochs with its steps per epoch.
public struct LRSchedule: Sendable, Equatable {
    public enum Decay: Sendable, Equatable {
        case constant
        case step(every: Int, gamma: Double)
        case multiStep(milestones: [Int], gamma: Double)
        case cosine(minLR: Double)
    }

    public var baseLR: Double
    public var decay: Decay
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(baseLR: Double, decay: Decay, warmupSteps: Int = 0, totalSteps: Int) {
        precondition(totalSteps > 0 && warmupSteps >= 0 && warmupSteps <= totalSteps, "bad schedule lengths")
        self.baseLR = baseLR; self.decay = decay; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps
    }

    /// Learning rate for step t (0-based).
    public func lr(at t: Int) -> Double {
        if t < warmupSteps { return baseLR * Double(t + 1) / Double(warmupSteps) }
        let s = t - warmupSteps
        switch decay {
        case .constant:
            return baseLR
        case .step(let every, let gamma):
            return baseLR * pow(gamma, Double(s / Swift.max(every, 1)))
        case .multiStep(let milestones, let gamma):
            return baseLR * pow(gamma, Double(milestones.filter { $0 <= s }.count))
        case .cosine(let minLR):
            let span = Double(Swift.max(totalSteps - warmupSteps, 1))
            let progress = Swift.min(Double(s) / span, 1)
            return minLR + 0.5 * (baseLR - minLR) * (1 + cos(Double.pi * progress))
        }
    }
}
