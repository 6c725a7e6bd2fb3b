import Optim
import TensorEngine

/// The optimisers `optim.name` can name (the one list: validation and the factory both read it).
public enum OptimizerKind: String, CaseIterable, Sendable {
    case sgd, adam, adamw
}

/// The learning-rate schedules `schedule.name` can name.
public enum ScheduleKind: String, CaseIterable, Sendable {
    case cosine, step, multistep, constant
}

extension CaseIterable where Self: RawRepresentable, RawValue == String {
    /// "one of a, b, c", for error messages.
    public static var choices: String { "one of " + allCases.map(\.rawValue).joined(separator: ", ") }

    /// The case named `name` (any letter case), or a `ConfigError` naming `key` and the choices.
    public static func named(_ name: String, key: String) throws -> Self {
        guard let v = Self(rawValue: name.lowercased()) else {
            throw ConfigError.invalid(key: key, value: name, expected: choices)
        }
        return v
    }
}

/// Builds the optimiser and schedule a config names.
public enum OptimizerFactory {
    public static func make(_ c: RunConfig.OptimConfig, store: ParameterStore) throws -> Optimizer {
        switch try OptimizerKind.named(c.name, key: "optim.name") {
        case .sgd:
            return SGD(store: store, momentum: Float(c.momentum), weightDecay: Float(c.weight_decay),
                       nesterov: c.nesterov && c.momentum > 0)
        case .adam, .adamw:
            return Adam(store: store, beta1: Float(c.beta1), beta2: Float(c.beta2), eps: Float(c.eps),
                        weightDecay: Float(c.weight_decay), decoupled: c.name.lowercased() == "adamw")
        }
    }

    public static func schedule(_ c: RunConfig.ScheduleConfig, lr: Double, stepsPerEpoch: Int) throws -> LRSchedule {
        let total = Swift.max(c.epochs * stepsPerEpoch, 1)
        let warmup = Int((c.warmup_epochs * Double(stepsPerEpoch)).rounded())
        guard warmup <= total else {
            throw ConfigError.invalid(key: "schedule.warmup_epochs", value: "\(c.warmup_epochs)",
                                      expected: "at most schedule.epochs (\(c.epochs))")
        }
        let decay: LRSchedule.Decay
        switch try ScheduleKind.named(c.name, key: "schedule.name") {
        case .cosine: decay = .cosine(minLR: c.min_lr)
        case .constant: decay = .constant
        case .step: decay = .step(every: c.step_epochs * stepsPerEpoch, gamma: c.gamma)
        case .multistep: decay = .multiStep(milestones: c.milestones.map { $0 * stepsPerEpoch }, gamma: c.gamma)
        }
        return LRSchedule(baseLR: lr, decay: decay, warmupSteps: warmup, totalSteps: total)
    }
}
