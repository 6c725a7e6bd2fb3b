import TensorEngine

/// Layout conversions for tests that check a channels-last kernel against its NCHW counterpart.
public enum Layouts {
    /// [N, C, P] → [N, P, C] (`toChannelsLast`) or back.
    public static func transpose(_ a: [Float], _ n: Int, _ c: Int, _ p: Int, toChannelsLast: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: a.count)
        if toChannelsLast {
            LayoutKernels.toChannelsLast(&out, a, batch: n, channels: c, positions: p)
        } else {
            LayoutKernels.toPlanes(&out, a, batch: n, channels: c, positions: p)
        }
        return out
    }
}
