import Quantization

extension RunConfig {
    /// The quantization policy the `quant` section describes.
    public func quantPolicy() throws -> QuantPolicy {
        try QuantPolicy(
            weights: quant.weights == "fp32" ? nil : WeightBinarizer.Kind(rawValue: quant.weights),
            activations: ActivationQuantizerKind(rawValue: quant.activations) ?? .fp32, abits: quant.abits,
            perChannel: quant.per_channel, steClip: Float(quant.ste_clip), gradientThroughScale: quant.scale_gradient,
            bwmaAmplitude: Float(quant.bwma_amplitude), bwmaLearnedClip: quant.bwma_range == "learned",
            quantizeFirst: quant.first_layer == "quantized", quantizeLast: quant.last_layer == "quantized",
            overrides: quant.layers)
    }
}
