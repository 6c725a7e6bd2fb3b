import CIMSimulator
import Data
import Distributed
import Models
import RunConfiguration
import TensorEngine

/// A trained model with its test data, for `bwma cim`: software and hardware-aware accuracy of a checkpoint.
public struct TrainedEvaluation {
    public let model: Model
    public let test: BatchLoader

    /// - Parameters:
    ///   - path: a checkpoint file or a run folder (its last checkpoint).
    ///   - activationBits: rebuild with this many activation bits (post-training requantization); nil: the run's.
    ///   - limitTest: evaluate only the first N test images (0 = all).
    public init(_ path: String, activationBits: Int?, limitTest: Int, log: (String) -> Void) throws {
        let t = try TrainedModel.load(path, activationBits: activationBits)
        var cfg = t.config
        if limitTest > 0 { cfg.data.limit_test = limitTest }
        let data = try DataLoading.load(cfg, configPath: t.path, log: log)
        try DataLoading.check(inputShape: t.model.inputShape, classes: t.model.numClasses, against: data, config: cfg,
                              source: t.path)
        model = t.model
        test = try DataLoading.testLoader(cfg, test: data.test, normalization: data.train.normalization)
    }

    /// Test accuracy on the crossbar datapath of `hw` (this process's whole test set).
    public func hardwareAccuracy(_ hw: CIMConfig) throws -> Double {
        HardwareAwareInference.attach(to: model, config: hw)
        defer { HardwareAwareInference.detach(from: model) }
        return try Evaluator.evaluate(model, loader: test).accuracy
    }

    /// Software and hardware-aware accuracy; under mpirun each rank evaluates a slice and the counts are summed.
    /// Also returns rank 0's wall time of each pass (software, hardware-aware) in seconds.
    public func accuracies(_ hw: CIMConfig, comm: Communicator) throws
        -> (software: Double, hardware: Double, softwareSeconds: Double, hardwareSeconds: Double) {
        let t0 = ProcessClock.now()
        let sw = try Evaluator.evaluate(model, loader: test, over: comm)
        let t1 = ProcessClock.now()
        HardwareAwareInference.attach(to: model, config: hw)
        defer { HardwareAwareInference.detach(from: model) }
        let hwr = try Evaluator.evaluate(model, loader: test, over: comm)
        return (sw.accuracy, hwr.accuracy, t1 - t0, ProcessClock.now() - t1)
    }
}

/// Loads a trained model for the CIM commands: a checkpoint file, or a run folder (its last checkpoint).
public enum TrainedModel {
    public struct Loaded {
        public var config: RunConfig
        public var model: Model
        /// The checkpoint file read.
        public var path: String
    }

    /// - Parameters:
    ///   - activationBits: rebuild with this many activation bits (post-training requantization); nil: the run's.
    public static func load(_ path: String, activationBits: Int? = nil) throws -> Loaded {
        let file = Checkpoint.resolve(path)
        let c = try Checkpoint.load(file)
        var cfg = try c.config(path: file)
        if let k = activationBits { cfg.quant.abits = k }
        return Loaded(config: cfg, model: try c.makeModel(config: cfg, path: file), path: file)
    }
}
