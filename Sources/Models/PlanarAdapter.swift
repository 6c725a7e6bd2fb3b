import TensorEngine

/// For a layer that reads only NCHW: converts a channels-last input to NCHW on the way in and the input gradient
/// back to the input's layout on the way out (the layer contract: dx is laid out like x).
final class PlanarAdapter {
    /// [N, C, H, W] the converted input.
    private let planar = Tensor(shape: [0])
    /// [N, H, W, C] the converted input gradient.
    private let channelsLast = Tensor(shape: [0])
    private var inputLayout = Tensor.Layout.nchw

    /// x in NCHW (x itself when it already is).
    func input(_ x: Tensor) -> Tensor {
        inputLayout = x.layout
        return x.converted(to: .nchw, using: planar)
    }

    /// An NCHW input gradient in the layout of the last input.
    func gradient(_ dx: Tensor) -> Tensor {
        dx.layout = .nchw
        return dx.converted(to: inputLayout, using: channelsLast)
    }
}
