import Foundation

/// Where a run's data comes from: dataset kind, location and the options the readers need. The `Training` layer
/// fills it from the `data:` config section.
public struct DataSpec: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case fashionMNIST = "fashion-mnist", mnist, cifar10, cifar100, imagenet, imagefolder, packed, synthetic
    }
    public typealias Split = DatasetSplit

    public var kind: Kind
    public var path: String
    public var cifar100Labels: CIFARReader.LabelKind = .fine
    /// Refuse non-image files and empty class folders (else count and skip them).
    public var strict = true
    public var dctScaling = true
    /// Synthetic data: sample counts, shape [C, H, W], classes.
    public var syntheticTrain = 10_000, syntheticTest = 2_000
    public var syntheticShape = [3, 32, 32]
    public var syntheticClasses = 10
    public var seed: UInt64 = 0

    public init(kind: Kind, path: String) { self.kind = kind; self.path = path }
}

/// A split ready for the loader: its samples and the normalisation the dataset is used with.
public struct LoadedSplit: Sendable {
    public var source: SampleSource
    public var normalization: Normalization
    /// Non-image entries and empty class folders that were skipped (image folders, non-strict).
    public var skippedEntries: Int
    public var emptyClasses: [String]
}

/// Opens the datasets by kind.
public enum DatasetCatalog {
    /// Loads `split`. Image folders read `path/train` and `path/val` (or `path/test`); packed data
    /// `path/train.bwpack` and `path/test.bwpack`.
    public static func load(_ spec: DataSpec, split: DataSpec.Split) throws -> LoadedSplit {
        var isDir: ObjCBool = false
        if spec.kind != .synthetic, FileManager.default.fileExists(atPath: spec.path, isDirectory: &isDir), !isDir.boolValue {
            throw DataError.inconsistent(path: spec.path, reason: "is a file, not a folder: data.path must name the folder "
                + "that holds the \(spec.kind.rawValue) files (docs/data.md)")
        }
        switch spec.kind {
        case .fashionMNIST, .mnist:
            let d = try MNISTFamily.load(directory: spec.path, split: split, name: spec.kind.rawValue)
            return LoadedSplit(source: d, normalization: try normalization(spec), skippedEntries: 0, emptyClasses: [])
        case .cifar10, .cifar100:
            let v: CIFARReader.Variant = spec.kind == .cifar10 ? .cifar10 : .cifar100
            let d = try CIFARReader.load(directory: spec.path, variant: v, split: split, labels: spec.cifar100Labels)
            return LoadedSplit(source: d, normalization: try normalization(spec), skippedEntries: 0, emptyClasses: [])
        case .imagenet, .imagefolder:
            let dir = try imageFolderSplit(spec.path, split)
            let f = try ImageFolder.scan(root: dir, strict: spec.strict, hint: imageFolderHint)
            let d = ImageFolderDataset(name: spec.kind.rawValue, folder: f, dctScaling: spec.dctScaling)
            return LoadedSplit(source: d, normalization: try normalization(spec), skippedEntries: f.skippedCount,
                               emptyClasses: f.emptyClasses)
        case .packed:
            let (d, n) = try PackedDataset.load(packedPath(spec, split))
            return LoadedSplit(source: d, normalization: n, skippedEntries: 0, emptyClasses: [])
        case .synthetic:
            let s = spec.syntheticShape
            let d = SyntheticDataset.make(count: split == .train ? spec.syntheticTrain : spec.syntheticTest,
                                          channels: s[0], height: s[1], width: s[2], classes: spec.syntheticClasses,
                                          seed: spec.seed &+ (split == .train ? 0 : 1))
            return LoadedSplit(source: d, normalization: try normalization(spec), skippedEntries: 0, emptyClasses: [])
        }
    }

    /// The normalisation a dataset is used with (training and evaluation both apply the training split's): the
    /// published statistics of the named datasets, ImageNet's for image folders, a packed file's own (read from its
    /// training file), mean 0.5 and std 0.25 for synthetic data.
    public static func normalization(_ spec: DataSpec) throws -> Normalization {
        switch spec.kind {
        case .mnist: return .mnist
        case .fashionMNIST: return .fashionMNIST
        case .cifar10: return .cifar10
        case .cifar100: return .cifar100
        case .imagenet, .imagefolder: return .imagenet
        case .packed: return try PackedDataset.load(packedPath(spec, .train)).1
        case .synthetic:
            let c = spec.syntheticShape[0]
            return Normalization(mean: .init(repeating: 0.5, count: c), std: .init(repeating: 0.25, count: c))
        }
    }

    static func packedPath(_ spec: DataSpec, _ split: DataSpec.Split) -> String {
        "\(spec.path)/\(split.rawValue).\(PackedDataset.fileExtension)"
    }

    /// The augmentation `auto` stands for: crop-and-flip for CIFAR, ImageNet's recipes for image folders, none
    /// for the rest (evaluation never augments; image folders are resized and center-cropped).
    public static func defaultAugmentation(_ kind: DataSpec.Kind, split: DataSpec.Split, imageSize: Int) -> Augmentation {
        switch (kind, split) {
        case (.cifar10, .train), (.cifar100, .train): return .cropFlip(padding: 4, flip: true)
        case (.imagenet, .train), (.imagefolder, .train): return .imagenetTrain(size: imageSize)
        case (.imagenet, .test), (.imagefolder, .test): return .imagenetEval(size: imageSize)
        default: return .none
        }
    }

    static func imageFolderSplit(_ root: String, _ split: DataSpec.Split) throws -> String {
        let names = split == .train ? ["train"] : ["val", "test"]
        for n in names where FileManager.default.fileExists(atPath: "\(root)/\(n)") { return "\(root)/\(n)" }
        throw DataError.missing(path: "\(root)/\(names[0])", hint: imageFolderHint)
    }

    static let imageFolderHint =
        "data.path must hold train/ and val/ (or test/) folders of CLASS/*.jpg images (torchvision's ImageFolder layout)."

}
