import Foundation

/// MNIST-family datasets stored as four IDX files (Fashion-MNIST, MNIST): 28x28 grey images, 10 classes.
public enum MNISTFamily {
    public typealias Split = DatasetSplit

    /// The Debian package's location of Fashion-MNIST.
    public static let fashionDefaultPath = "/usr/share/datasets/fashion-mnist"

    /// Loads a split from `directory`, which holds `train-images-idx3-ubyte[.gz]` etc. (`t10k-` for test).
    public static func load(directory: String, split: Split, name: String = "fashion-mnist") throws -> ImageDataset {
        let prefix = split == .train ? "train" : "t10k"
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw DataError.missing(path: directory, hint: installHint(name))
        }
        func locate(_ base: String) throws -> String {
            for candidate in ["\(directory)/\(base).gz", "\(directory)/\(base)"]
            where FileManager.default.fileExists(atPath: candidate) {
                return candidate
            }
            throw DataError.missing(path: "\(directory)/\(base).gz", hint: installHint(name))
        }
        let imagePath = try locate("\(prefix)-images-idx3-ubyte")
        let labelPath = try locate("\(prefix)-labels-idx1-ubyte")
        let images = try IDXReader.read(imagePath, expectedDims: 3)
        if let problem = DataLimits.shapeProblem([1, images.dims[1], images.dims[2]]) {
            throw DataError.inconsistent(path: imagePath, reason: "header dimensions \(images.dims): \(problem)")
        }
        let labels = try IDXReader.read(labelPath, expectedDims: 1)
        guard images.dims[0] == labels.dims[0] else {
            throw DataError.inconsistent(path: labelPath,
                                         reason: "\(labels.dims[0]) labels for \(images.dims[0]) images in \(imagePath)")
        }
        if let bad = labels.bytes.firstIndex(where: { $0 >= 10 }) {
            throw DataError.inconsistent(path: labelPath, reason: "label \(labels.bytes[bad]) at record \(bad) is not in 0...9")
        }
        return ImageDataset(name: name, images: images.bytes, labels: labels.bytes.map { Int32($0) }, channels: 1,
                            height: images.dims[1], width: images.dims[2], numClasses: 10)
    }

    static func installHint(_ name: String) -> String {
        name == "fashion-mnist"
            ? "Install the dataset with `apt-get install dataset-fashion-mnist` (files land in \(fashionDefaultPath)) or set data.path to the folder holding the four IDX files."
            : "Set data.path to the folder holding the four IDX files (train-images-idx3-ubyte.gz, ...)."
    }
}
