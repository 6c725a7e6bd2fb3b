import Data
import Quantization
import TensorEngine

extension RunConfig {
    /// Range and choice checks that the YAML types cannot express, section by section; the first failure is
    /// thrown, naming its key.
    public func validate() throws {
        try require(Self.isValidRunName(name), "name", name,
                    "a folder name: not empty, not '.' or '..', no '/', '\\' or control characters")
        try validateData()
        try validateModelAndOptimizer()
        try validateSchedule()
        try validateQuantization()
        try validateRuntime()
        try validateCIM()
    }

    /// Throws `ConfigError.invalid` naming `key` unless `ok`.
    func require(_ ok: Bool, _ key: String, _ value: Any, _ expected: String) throws {
        if !ok { throw ConfigError.invalid(key: key, value: "\(value)", expected: expected) }
    }

    func validateData() throws {
        let datasets = DataSpec.Kind.allCases.map(\.rawValue)
        try require(datasets.contains(data.dataset), "data.dataset", data.dataset,
                    "one of \(datasets.joined(separator: ", "))")
        try require(Self.augmentations.contains(data.augment), "data.augment", data.augment,
                    "one of \(Self.augmentations.joined(separator: ", "))")
        try require(data.crop_padding >= 0 && data.crop_padding <= 64, "data.crop_padding", data.crop_padding,
                    "an integer in 0...64")
        try require(data.image_size >= 8 && data.image_size <= 1024, "data.image_size", data.image_size,
                    "an integer in 8...1024")
        try require(data.workers >= 0 && data.workers <= 64, "data.workers", data.workers, "an integer in 0...64")
        try require(data.prefetch >= 2 && data.prefetch <= 64, "data.prefetch", data.prefetch, "an integer in 2...64")
        try require(["error", "skip"].contains(data.bad_samples), "data.bad_samples", data.bad_samples,
                    "error or skip")
        try require(CIFARReader.LabelKind(rawValue: data.cifar100_labels) != nil, "data.cifar100_labels",
                    data.cifar100_labels, "fine or coarse")
        try require(data.synthetic_train >= 1, "data.synthetic_train", data.synthetic_train, "an integer >= 1")
        try require(data.synthetic_test >= 1, "data.synthetic_test", data.synthetic_test, "an integer >= 1")
        try require(Self.parseShape(data.synthetic_shape) != nil, "data.synthetic_shape", data.synthetic_shape,
                    "CxHxW with each side in 1...4096, e.g. 3x32x32")
        try require(data.synthetic_classes >= 2, "data.synthetic_classes", data.synthetic_classes, "an integer >= 2")
        try require((1...Self.maxBatchSize).contains(data.batch_size), "data.batch_size", data.batch_size,
                    "an integer >= 1 and <= \(Self.maxBatchSize)")
        try require((1...Self.maxBatchSize).contains(data.eval_batch_size), "data.eval_batch_size", data.eval_batch_size,
                    "an integer >= 1 and <= \(Self.maxBatchSize)")
        try require(data.limit_train >= 0, "data.limit_train", data.limit_train, "an integer >= 0 (0 = all)")
        try require(data.limit_test >= 0, "data.limit_test", data.limit_test, "an integer >= 0 (0 = all)")
    }

    func validateModelAndOptimizer() throws {
        try require(model.in_channels >= 0, "model.in_channels", model.in_channels, "an integer >= 0 (0 = from data)")
        try require(model.num_classes >= 0 && model.num_classes <= DataLimits.maxClasses, "model.num_classes",
                    model.num_classes, "an integer in 0...\(DataLimits.maxClasses) (0 = from data)")
        _ = try OptimizerKind.named(optim.name, key: "optim.name")
        try require(optim.lr > 0 && optim.lr.isFinite, "optim.lr", optim.lr, "a positive number")
        try require(optim.momentum >= 0 && optim.momentum < 1, "optim.momentum", optim.momentum, "a number in [0, 1)")
        try require(optim.weight_decay >= 0 && optim.weight_decay.isFinite, "optim.weight_decay", optim.weight_decay, "a number >= 0")
        try require(optim.beta1 >= 0 && optim.beta1 < 1, "optim.beta1", optim.beta1, "a number in [0, 1)")
        try require(optim.beta2 >= 0 && optim.beta2 < 1, "optim.beta2", optim.beta2, "a number in [0, 1)")
        try require(optim.eps > 0 && optim.eps.isFinite, "optim.eps", optim.eps, "a finite positive number")
    }

    func validateSchedule() throws {
        _ = try ScheduleKind.named(schedule.name, key: "schedule.name")
        try require((1...Self.maxEpochs).contains(schedule.epochs), "schedule.epochs", schedule.epochs,
                    "an integer >= 1 and <= \(Self.maxEpochs)")
        try require(schedule.warmup_epochs >= 0 && schedule.warmup_epochs <= Double(schedule.epochs),
                    "schedule.warmup_epochs", schedule.warmup_epochs, "a number in [0, schedule.epochs]")
        try require((1...Self.maxEpochs).contains(schedule.step_epochs), "schedule.step_epochs", schedule.step_epochs, "an integer >= 1")
        try require(schedule.gamma > 0 && schedule.gamma.isFinite, "schedule.gamma", schedule.gamma, "a positive number")
        try require(schedule.min_lr >= 0 && schedule.min_lr <= optim.lr, "schedule.min_lr", schedule.min_lr,
                    "a number in [0, optim.lr]")
        try require(schedule.milestones == schedule.milestones.sorted() && schedule.milestones.allSatisfy { $0 > 0 && $0 <= Self.maxEpochs },
                    "schedule.milestones", schedule.milestones, "increasing positive epoch numbers")
    }

    func validateQuantization() throws {
        let weightKinds = ["fp32"] + WeightBinarizer.Kind.allCases.map(\.rawValue)
        let activationKinds = ActivationQuantizerKind.allCases.map(\.rawValue)
        try require(weightKinds.contains(quant.weights), "quant.weights", quant.weights,
                    "one of \(weightKinds.joined(separator: ", "))")
        try require(activationKinds.contains(quant.activations), "quant.activations", quant.activations,
                    "one of \(activationKinds.joined(separator: ", "))")
        try require((1...8).contains(quant.abits), "quant.abits", quant.abits, "an integer in 1...8")
        try require(quant.ste_clip >= 0 && quant.ste_clip.isFinite, "quant.ste_clip", quant.ste_clip, "a number >= 0 (0 = no clipping)")
        try require(quant.bwma_amplitude >= 0 && quant.bwma_amplitude <= 1, "quant.bwma_amplitude", quant.bwma_amplitude,
                    "a number in [0, 1] (0: straight-through, 0.5: default)")
        try require(["rms", "learned"].contains(quant.bwma_range), "quant.bwma_range", quant.bwma_range,
                    "rms (the κ_k·rms rule) or learned")
        try require(["fp32", "quantized"].contains(quant.first_layer), "quant.first_layer", quant.first_layer,
                    "fp32 or quantized")
        try require(["fp32", "quantized"].contains(quant.last_layer), "quant.last_layer", quant.last_layer,
                    "fp32 or quantized")
        do { _ = try quantPolicy() } catch { throw ConfigError.invalid(key: "quant.layers", value: "\(quant.layers)",
                                                                       expected: "\(error)") }
    }

    /// The loss, distributed and runtime sections.
    func validateRuntime() throws {
        try require(loss.label_smoothing >= 0 && loss.label_smoothing < 1, "loss.label_smoothing",
                    loss.label_smoothing, "a number in [0, 1)")
        try require(distributed.bucket_mb > 0 && distributed.bucket_mb <= 4096, "distributed.bucket_mb",
                    distributed.bucket_mb, "a number in (0, 4096]")
        try require(distributed.first_bucket_mb > 0 && distributed.first_bucket_mb <= 4096, "distributed.first_bucket_mb",
                    distributed.first_bucket_mb, "a number in (0, 4096]")
        try require(runtime.threads >= 1 && runtime.threads <= 256, "runtime.threads", runtime.threads,
                    "an integer in 1...256")
        try require(Backend(rawValue: runtime.backend) != nil, "runtime.backend", runtime.backend,
                    "one of \(Backend.allCases.map(\.rawValue).joined(separator: ", "))")
        try require(Precision(rawValue: runtime.precision) != nil, "runtime.precision", runtime.precision,
                    "one of \(Precision.allCases.map(\.rawValue).joined(separator: ", "))")
        try require(ConvAlgorithm(rawValue: runtime.conv_algorithm) != nil, "runtime.conv_algorithm",
                    runtime.conv_algorithm, "one of \(ConvAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
        try require(runtime.checkpoint_every_steps >= 0, "runtime.checkpoint_every_steps", runtime.checkpoint_every_steps,
                    "an integer >= 0 (0 = once per epoch)")
        try require(runtime.log_every_steps >= 1, "runtime.log_every_steps", runtime.log_every_steps, "an integer >= 1")
        try require(["global", "per_rank"].contains(runtime.resume_batch), "runtime.resume_batch", runtime.resume_batch,
                    "one of global, per_rank")
        try require(distributed.timeout_s >= 0 && distributed.timeout_s <= 86_400, "distributed.timeout_s",
                    distributed.timeout_s, "a number of seconds in [0, 86400] (0 = no timeout)")
    }

    /// Largest `data.batch_size` / `eval_batch_size` (per rank); the batch tensor is also bounded by
    /// `DataLimits.maxBatchElements` once the sample shape is known (`DataLoading.check`).
    public static let maxBatchSize = 65_536
    /// Largest `schedule.epochs`: keeps epochs x steps per epoch far from overflow.
    public static let maxEpochs = 100_000

    /// A run name is one folder under `runtime.runs_dir`: no path separators, not `.` or `..`, no control characters.
    public static func isValidRunName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\\")
            && !name.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
    }
}
