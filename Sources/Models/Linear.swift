import Quantization
import TensorEngine

/// Fully connected layer, weight [out, in], bias [out]; input [N, in] (flatten first).
public final class Linear: Layer, InputGradientOptional, QuantizableLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let inFeatures: Int, outFeatures: Int
    public var needsInputGradient = true

    /// [N, out]
    let y = Tensor(shape: [0])
    /// [N, in]
    let dx = Tensor(shape: [0])
    /// A channels-last 4-D input is read in NCHW order.
    let adapter = PlanarAdapter()
    /// The quantized operands of the last forward (kept for backward) and their gradient rules.
    var operands: QuantizedOperands
    public var quantization: LayerQuantization? { operands.quantization }
    public var datapath: LayerDatapath?
    public var name: String { String(weight.name.dropLast(".weight".count)) }

    public init(_ store: ParameterStore, _ name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true,
                quant: QuantPolicy.LayerSpec? = nil) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = store.parameter("\(name).weight", shape: [outFeatures, inFeatures], fanIn: inFeatures)
        self.bias = bias ? store.parameter("\(name).bias", shape: [outFeatures], fanIn: inFeatures) : nil
        operands = QuantizedOperands(quant.flatMap {
            LayerQuantization($0, weightCount: outFeatures * inFeatures, store: store, name: name)
        })
    }

    public var ownParameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) + (quantization?.parameters ?? []) }

    public func outputShape(for input: [Int]) -> [Int] {
        precondition(input.reduce(1, *) == inFeatures, "Linear(\(inFeatures)) got per-sample shape \(input)")
        return [outFeatures]
    }

    public func initialize(rng: inout RNG) {
        Initializers.kaimingUniformDefault(weight, rng: &rng)
        if let bias { Initializers.biasDefault(bias, fanIn: inFeatures, rng: &rng) }
        quantization?.initialize()
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let x = adapter.input(x)  // a 4-D input's features in C·H·W order
        let n = x.shape[0]
        precondition(x.count == n * inFeatures, "Linear(\(inFeatures)) got \(x.shape)")
        y.ensure(shape: [n, outFeatures])
        let w = operands.weights(weight, outChannels: outFeatures), xin = operands.input(x, training: training)
        if let datapath {
            datapath.forward(DatapathOperands(name: name, input: xin, weights: w, outChannels: outFeatures,
                                              rows: inFeatures, geometry: nil, bias: bias.map { UnsafePointer($0.value) },
                                              quantization: quantization), y: UnsafeMutableRawPointer(y.data))
        } else {
            LinearKernel.forward(y: y.data, x: xin.data, weight: w, bias: bias?.value, batch: n,
                                 inFeatures: inFeatures, outFeatures: outFeatures)
        }
        operands.keep(input: x, kernelInput: xin, weights: w, training: training)
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let (x, kernelInput, w) = operands.saved("Linear")
        let xin = kernelInput.tensor(), n = x.shape[0]
        if needsInputGradient { dx.ensure(shape: x.shape) }
        let dW = operands.weightGradientTarget(weight)
        LinearKernel.backward(dx: needsInputGradient ? dx.data : nil, dWeight: dW, dBias: bias?.grad,
                              dy: dy.data, x: xin.data, weight: w, batch: n, inFeatures: inFeatures,
                              outFeatures: outFeatures)
        operands.finish(weight: weight, dx: needsInputGradient ? dx : nil, input: x)
        if needsInputGradient { return adapter.gradient(dx) }
        return dx
    }
}
