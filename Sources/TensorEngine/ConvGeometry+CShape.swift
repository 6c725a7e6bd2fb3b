import CConvKernels

extension ConvGeometry {
    /// This geometry as the C kernels' `bwma_conv_shape` (CConvKernels), for `batch` images and `outChannels`.
    public func cShape(batch: Int, outChannels: Int) -> bwma_conv_shape {
        var s = bwma_conv_shape()
        s.batch = Int32(batch); s.channels = Int32(channels); s.height = Int32(height); s.width = Int32(width)
        s.out_channels = Int32(outChannels); s.out_height = Int32(outH); s.out_width = Int32(outW)
        s.kernel_h = Int32(kernelH); s.kernel_w = Int32(kernelW)
        s.stride_h = Int32(strideH); s.stride_w = Int32(strideW); s.pad_h = Int32(padH); s.pad_w = Int32(padW)
        return s
    }
}

extension bwma_conv_shape {
    /// The shape as oneDNN 2.x's `exec` log lines name a convolution's problem (`mb…_ic…oc…_ih…_iw…`).
    var verboseProblem: String {
        "mb\(batch)_ic\(channels)oc\(out_channels)_ih\(height)oh\(out_height)kh\(kernel_h)sh\(stride_h)dh0ph\(pad_h)"
            + "_iw\(width)ow\(out_width)kw\(kernel_w)sw\(stride_w)dw0pw\(pad_w)"
    }
}
