import Quantization
import TensorEngine

/// The quantize → kernel → straight-through chain every weighted layer runs (Conv2d, Linear), in one place: the
/// operands the kernel uses in forward (the k-bit input and α·B + β, or the originals), kept for backward, and the
/// gradient rules around the kernel's backward (dW through the binarizer's straight-through rule into the latent
/// weights, dx through the input quantizer's rule).
struct QuantizedOperands {
    let quantization: LayerQuantization?
    /// The forward input, and the input and weights the kernel saw (training forwards only; a binarized layer's
    /// weights pointer is not valid after its forward).
    private(set) var input: Tensor?, kernelInput: Tensor?, kernelWeight: UnsafePointer<Float>?
    /// The kernel read the integer view's codes: backward rebuilds the quantized input from them.
    private var kernelReadCodes = false

    init(_ quantization: LayerQuantization?) { self.quantization = quantization }

    /// The kernel's weights: α·B + β for a binarized layer (its groups and signs set for `integerView`).
    func weights(_ weight: Parameter, outChannels: Int) -> UnsafePointer<Float> {
        quantization?.weights(weight, outChannels: outChannels) ?? UnsafePointer(weight.value)
    }

    /// The kernel's input: x quantized when the layer quantizes its input.
    func input(_ x: Tensor, training: Bool) -> Tensor { quantization?.input(x, training: training) ?? x }

    /// Keeps what backward needs (nothing in evaluation). `kernelInput` is the tensor the kernel read; nil: the
    /// kernel read the integer view's codes.
    mutating func keep(input x: Tensor, kernelInput xin: Tensor?, weights w: UnsafePointer<Float>, training: Bool) {
        input = training ? x : nil
        kernelInput = training ? xin : nil
        kernelReadCodes = training && xin == nil
        kernelWeight = w
    }

    /// Backward's operands: the forward input, what the kernel read and its weights (a binarized layer's rebuilt
    /// from B: the forward's were shared scratch).
    func saved(_ layer: String) -> (x: Tensor, xin: KernelInput, w: UnsafePointer<Float>) {
        guard let x = input, var w = kernelWeight, kernelReadCodes || kernelInput != nil else {
            preconditionFailure("\(layer).backward without a training forward")
        }
        if let q = quantization, q.binarizer != nil { w = q.rebuiltWeights() }
        if kernelReadCodes, let q = quantization { return (x, .codes(q), w) }
        return (x, .tensor(kernelInput!), w)
    }

    /// The input a kernel read in forward: a tensor, or a binarized layer's codes (x = j·Δ, channels-last), which
    /// backward turns into a tensor only where it needs one.
    enum KernelInput {
        case tensor(Tensor)
        case codes(LayerQuantization)

        var layout: Tensor.Layout {
            if case .tensor(let t) = self { return t.layout }
            return .nhwc
        }

        /// The tensor's element type (Float for codes, whose values backward rebuilds in Float or bf16 itself).
        var elementType: Tensor.ElementType {
            if case .tensor(let t) = self { return t.elementType }
            return .float32
        }

        /// The input as a tensor (the codes' values rebuilt into shared scratch: `rebuiltInput`).
        func tensor() -> Tensor {
            switch self {
            case .tensor(let t): return t
            case .codes(let q): return q.rebuiltInput()
            }
        }
    }

    /// Where the kernel should accumulate the weight gradient: the latent weights' gradient, or (binarized) a
    /// zeroed buffer for dL/d(α·B + β).
    func weightGradientTarget(_ weight: Parameter) -> UnsafeMutablePointer<Float> {
        quantization?.weightGradientTarget(weight) ?? weight.grad
    }

    /// After the kernel's backward: the straight-through rules into the latent weights' gradient and, when the
    /// input gradient was computed (`dx`), into dL/d(input) in place.
    /// `inputGradient: false` leaves dx the gradient at the quantized input (a caller applies the quantizer's rule:
    /// `Conv2d.defersInputQuantizerGradient`).
    func finish(weight: Parameter, dx: Tensor?, input x: Tensor, inputGradient: Bool = true) {
        quantization?.finishWeightGradient(weight)
        if let dx, inputGradient { quantization?.inputGradient(dx, input: x) }
    }
}
