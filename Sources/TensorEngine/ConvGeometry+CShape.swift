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
