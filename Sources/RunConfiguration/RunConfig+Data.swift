import Data

extension RunConfig {
    /// The values `data.augment` accepts.
    static let augmentations = ["auto", "none", "crop-flip", "random-resized-crop"]

    /// "CxHxW" → [C, H, W], nil when malformed.
    static func parseShape(_ s: String) -> [Int]? {
        let parts = s.lowercased().split(separator: "x").map { Int($0) }
        guard parts.count == 3, parts.allSatisfy({ $0 != nil && $0! >= 1 && $0! <= 4096 }) else { return nil }
        return parts.map { $0! }
    }

    /// Where the data comes from, for `DatasetCatalog` (the config is validated).
    public func dataSpec() -> DataSpec {
        var s = DataSpec(kind: DataSpec.Kind(rawValue: data.dataset)!, path: data.path)
        s.cifar100Labels = CIFARReader.LabelKind(rawValue: data.cifar100_labels)!
        s.strict = data.bad_samples == "error"
        s.dctScaling = data.dct_scaling
        s.syntheticTrain = data.synthetic_train
        s.syntheticTest = data.synthetic_test
        s.syntheticShape = Self.parseShape(data.synthetic_shape)!
        s.syntheticClasses = data.synthetic_classes
        s.seed = seed
        return s
    }

    /// The transform of each split: `data.augment` for training (`auto`: the dataset's usual recipe); evaluation
    /// resizes and center-crops image folders and leaves fixed-size data as stored.
    public func augmentation(_ split: DataSpec.Split) -> Augmentation {
        let kind = DataSpec.Kind(rawValue: data.dataset)!
        guard split == .train else {
            return DatasetCatalog.defaultAugmentation(kind, split: .test, imageSize: data.image_size)
        }
        switch data.augment {
        case "none": return .none
        case "crop-flip": return .cropFlip(padding: data.crop_padding, flip: true)
        case "random-resized-crop": return .imagenetTrain(size: data.image_size)
        default:
            if case .cropFlip = DatasetCatalog.defaultAugmentation(kind, split: .train, imageSize: data.image_size) {
                return .cropFlip(padding: data.crop_padding, flip: true)
            }
            return DatasetCatalog.defaultAugmentation(kind, split: .train, imageSize: data.image_size)
        }
    }
}
