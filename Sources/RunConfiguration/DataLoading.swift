import Data

/// Opens a run's training and test splits as its config describes, applies the `limit_*` smoke-run caps, and
/// phrases every data problem with the config key to fix.
public enum DataLoading {
    public struct Splits {
        public var train: LoadedSplit
        public var test: LoadedSplit
        /// [C, H, W] the model sees (after the training augmentation).
        public var inputShape: [Int]
    }

    public static func load(_ cfg: RunConfig, configPath: String, log: (String) -> Void) throws -> Splits {
        let spec = cfg.dataSpec()
        do {
            var train = try DatasetCatalog.load(spec, split: .train)
            var test = try DatasetCatalog.load(spec, split: .test)
            for (split, s) in [("train", train), ("test", test)] where s.skippedEntries > 0 || !s.emptyClasses.isEmpty {
                log("warning: \(spec.path) (\(split)): skipped \(s.skippedEntries) non-JPEG file(s)"
                    + (s.emptyClasses.isEmpty ? "" : " and found \(s.emptyClasses.count) empty class folder(s) "
                        + "(\(s.emptyClasses.prefix(5).joined(separator: ", ")))") + " (data.bad_samples: skip)")
            }
            if cfg.data.limit_train > 0 { train.source = SampleSubset(train.source, first: cfg.data.limit_train) }
            if cfg.data.limit_test > 0 { test.source = SampleSubset(test.source, first: cfg.data.limit_test) }
            guard train.source.count > 0 else {
                throw DataError.inconsistent(path: spec.path, reason: "the training split holds no samples")
            }
            guard test.source.count > 0 else {
                throw DataError.inconsistent(path: spec.path, reason: "the test split holds no samples (an accuracy "
                    + "over no images would be meaningless)")
            }
            guard train.source.numClasses == test.source.numClasses else {
                throw DataError.inconsistent(path: spec.path, reason: "train has \(train.source.numClasses) classes, "
                    + "test \(test.source.numClasses)")
            }
            let shape = try train.source.outputShape(cfg.augmentation(.train))
            let testShape = try test.source.outputShape(cfg.augmentation(.test))
            guard shape == testShape else {
                throw DataError.inconsistent(path: spec.path, reason: "training samples are \(shape), test samples "
                    + "\(testShape); data.augment must give both splits one shape")
            }
            return Splits(train: train, test: test, inputShape: shape)
        } catch let e as DataError {
            throw ConfigError.data(file: configPath, message: "\(e)")
        }
    }

    /// Checks that a model taking `inputShape` samples with `classes` outputs can run on `splits` with the config's
    /// batch sizes, before anything is built or run: the sample shape must be the model's input (the kernels trust
    /// it), every label must index a logit, and the batch tensors must stay within `DataLimits`. Errors name the
    /// config or checkpoint (`source`) and the key to change.
    ///   - ranks: a training job's ranks (with `drop_last` each rank needs a whole batch of its shard); nil when
    ///     the model is only evaluated.
    public static func check(inputShape: [Int], classes: Int, against splits: Splits, config cfg: RunConfig,
                             source: String, ranks: Int? = nil) throws {
        let shape = { (s: [Int]) in s.map(String.init).joined(separator: "x") }
        if let problem = DataLimits.shapeProblem(inputShape) {
            throw ConfigError.data(file: source, message: "the model's input \(shape(inputShape)) is unusable: \(problem)")
        }
        guard inputShape == splits.inputShape else {
            throw ConfigError.data(file: source, message: "the model expects \(shape(inputShape)) inputs but data.dataset "
                + "\(cfg.data.dataset)\(cfg.data.dataset == "synthetic" ? "" : " (data.path \(cfg.data.path))") gives \(shape(splits.inputShape)) samples; "
                + "evaluate on data of the shape the model was trained on")
        }
        let dataClasses = splits.train.source.numClasses
        guard (1...DataLimits.maxClasses).contains(classes) else {
            throw ConfigError.invalid(key: "model.num_classes", value: "\(classes)", expected: "1...\(DataLimits.maxClasses)")
        }
        guard classes >= dataClasses else {
            throw ConfigError.invalid(key: "model.num_classes", value: "\(classes)",
                                      expected: "0 (from the data) or at least the \(dataClasses) classes of "
                                        + "\(cfg.data.dataset) (labels 0..<\(dataClasses) must each have a logit)")
        }
        if let ranks, cfg.data.drop_last, splits.train.source.count / Swift.max(ranks, 1) < cfg.data.batch_size {
            let perRank = splits.train.source.count / Swift.max(ranks, 1)
            throw ConfigError.invalid(key: "data.batch_size", value: "\(cfg.data.batch_size)",
                                      expected: "at most the \(perRank) training sample(s) per rank when "
                                        + "data.drop_last is true (otherwise no training step runs)")
        }
        let sample = inputShape.reduce(1, *)
        for (key, batch) in [("data.batch_size", cfg.data.batch_size), ("data.eval_batch_size", cfg.data.eval_batch_size)] {
            guard DataLimits.product([batch, sample], limit: DataLimits.maxBatchElements) != nil else {
                throw ConfigError.invalid(key: key, value: "\(batch)", expected: "at most \(DataLimits.maxBatchElements / sample) "
                    + "for \(shape(inputShape)) samples (a batch tensor is limited to \(DataLimits.maxBatchElements) values)")
            }
        }
    }

    /// The evaluation loader of a config's test split: the split's evaluation transform, normalised with the training
    /// split's statistics (as in training), `data.eval_batch_size`, in order. The one place a test loader is built
    /// (training, `bwma eval`, `bwma cim`).
    public static func testLoader(_ cfg: RunConfig, test: LoadedSplit, normalization: Normalization) throws -> BatchLoader {
        try BatchLoader(source: test.source, augmentation: cfg.augmentation(.test), normalization: normalization,
                        batchSize: cfg.data.eval_batch_size, workers: cfg.data.workers, depth: 2, seed: cfg.seed,
                        skipBadSamples: cfg.data.bad_samples == "skip")
    }
}
