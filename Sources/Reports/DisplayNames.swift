import Plots

/// How models, datasets and chips are named in titles: "ResNet-20 on Fashion-MNIST · W1A4 · SRAM 22 nm chip".
public enum DisplayNames {
    public static func model(_ arch: String) -> String {
        let a = arch.lowercased()
        if a.hasPrefix("resnet"), let n = Int(a.dropFirst(6)) { return "ResNet-\(n)" }
        switch a {
        case "smallcnn", "small-cnn": return "SmallCNN"
        case "lenet5", "lenet-5": return "LeNet-5"
        case "vggsmall", "vgg-small", "vgg_small": return "VGG-Small"
        default: return arch
        }
    }

    public static func dataset(_ name: String) -> String {
        switch name.lowercased() {
        case "fashion-mnist": return "Fashion-MNIST"
        case "mnist": return "MNIST"
        case "cifar10": return "CIFAR-10"
        case "cifar100": return "CIFAR-100"
        case "imagenet": return "ImageNet"
        case "synthetic": return "synthetic data"
        default: return name
        }
    }

    /// "W1A4" for binary weights and k-bit activations, "FP32" for an unquantized run.
    public static func quantization(weights: String?, activations: String?, abits: String?) -> String {
        let w = weights ?? "fp32", a = activations ?? "fp32"
        if w == "fp32" && a == "fp32" { return "FP32" }
        return "W\(w == "fp32" ? "32" : "1")A\(a == "fp32" ? "32" : abits ?? "?")"
    }

    /// The chip in a few words for plot subtitles: "SRAM 22 nm, 5-bit ADC".
    public static func shortChip(device: String, node: Int, adcBits: Int) -> String {
        "\(Palette.deviceName(device)) \(node) nm, \(adcBits)-bit ADC"
    }

    /// "SRAM, 22 nm, 128×128 subarrays, 5-bit MLSA ADC per 8 columns".
    public static func chip(device: String, node: Int, rows: Int, columns: Int, adcBits: Int, adc: String,
                            columnsPerADC: Int) -> String {
        "\(Palette.deviceName(device)), \(node) nm, \(rows)×\(columns) subarrays, \(adcBits)-bit \(adc.uppercased()) ADC "
            + "per \(columnsPerADC) columns"
    }

    /// Circuit blocks of the cost model by their JSON key: "shift_add" → "shift-add".
    public static func block(_ key: String) -> String {
        switch key {
        case "array": return "cell array"
        case "wordline": return "wordlines"
        case "wordline_drivers": return "wordline drivers"
        case "adc": return "ADCs"
        case "shift_add": return "shift-add"
        case "accumulation": return "accumulation"
        case "buffer": return "buffers"
        case "interconnect": return "interconnect"
        case "other": return "decoders, drivers, muxes"
        case "unassigned": return "unassigned floorplan"
        case "leakage": return "leakage"
        default: return key.replacingOccurrences(of: "_", with: " ")
        }
    }
}
