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
}
