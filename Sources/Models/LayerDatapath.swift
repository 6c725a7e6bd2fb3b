import Quantization
import TensorEngine

/// A replacement for the matrix product of a convolution or fully connected layer: a hardware model (the CIM
/// crossbar of `CIMSimulator`) computes the layer's output from the operands the software kernel would use.
///
/// The layer calls it in `forward`, in training and in evaluation; `backward` is unchanged and uses the kernel's
/// operands, so a datapath used in training gets the straight-through gradient of the software path (the ADC and
/// the device effects count as identity in backward).
public protocol LayerDatapath: AnyObject {
    /// Writes the layer's output `y` ([N, Cout, outH, outW] for a convolution, [N, out] for a linear layer),
    /// including the bias: Float values, or bf16 where `operands.bf16Output`.
    func forward(_ operands: DatapathOperands, y: UnsafeMutableRawPointer)

    /// Whether `forward` on these operands would compute exactly the layer's exact integer forward
    /// (Δα·(B ⊛ j) + Δβ·(1 ⊛ j) + bias, the same Float expression): a convolution then runs its integer kernel
    /// (oneDNN u8 × s8 → s32) instead, the same numbers on the CPU's int8 units. Default: false.
    func reproducesIntegerForward(_ operands: DatapathOperands) -> Bool

    /// Whether `forward` takes a convolution's input channels-last as it comes (`operands.input.layout`); false
    /// (default): the layer converts it to NCHW first.
    var readsChannelsLast: Bool { get }

    /// Whether `forward` writes a convolution's output channels-last, [N, outH, outW, Cout] — the layout of the
    /// oneDNN layers around it, so neither batch norm nor the backward's gradients need a conversion, and the next
    /// datapath gets its input so. Default false: NCHW.
    var writesChannelsLast: Bool { get }

    /// Whether `forward` takes a binarized convolution's input as its k-bit codes (`DatapathOperands.codes`): the
    /// layer then runs the input quantizer's code forward — one byte per value, the integer kernel's — instead of
    /// the quantized Float values. Default false.
    var readsCodes: Bool { get }

    /// Whether `forward` writes a convolution's output in bf16 when asked (`DatapathOperands.bf16Output`): bf16
    /// mixed precision stores the output of a convolution that feeds a batch norm so (`Conv2d.outputFeedsBatchNorm`),
    /// as autocast does, and the batch norm reads it as it comes. Default false: Float always.
    var writesBF16: Bool { get }
}

extension LayerDatapath {
    public func reproducesIntegerForward(_ operands: DatapathOperands) -> Bool { false }
    public var readsChannelsLast: Bool { false }
    public var writesChannelsLast: Bool { false }
    public var readsCodes: Bool { false }
    public var writesBF16: Bool { false }
}

/// What a datapath needs from a layer for one forward.
public struct DatapathOperands {
    /// The layer's name (its weight parameter's name without `.weight`).
    public let name: String
    /// [N, Cin, H, W] or [N, in]: the kernel's input (the k-bit quantized input for quantized layers) — or, where
    /// `codes` is set, the layer's input before quantization, of which only the shape and layout then count.
    public let input: Tensor
    /// [Cout, Cin·kh·kw] or [out, in]: the kernel's weights (α·B + β for binarized layers).
    public let weights: UnsafePointer<Float>
    public let outChannels: Int
    /// Input columns of the unrolled weight matrix (Cin·kh·kw, or in).
    public let rows: Int
    /// The convolution's geometry (nil: a linear layer).
    public let geometry: ConvGeometry?
    /// [Cout] or nil.
    public let bias: UnsafePointer<Float>?
    /// The layer's quantizers and the binarizer's (α, β) groups of this forward.
    public let quantization: LayerQuantization?
    /// [N, H, W, Cin] (channels-last whatever `input`'s layout): the quantized input as codes j, x_q = j·Δ with
    /// Δ = `quantization.inputQuantizer.quantizationStep` — set for a datapath that `readsCodes`, nil otherwise.
    public var codes: UnsafePointer<UInt8>? = nil
    /// Write y in bf16: the Float output rounded to nearest, ties to even (`BFloat16.init`) — set only for a
    /// datapath that `writesBF16`.
    public var bf16Output = false
}
