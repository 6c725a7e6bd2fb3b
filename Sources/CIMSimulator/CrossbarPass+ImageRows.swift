import CCrossbar
import TensorEngine

extension CrossbarDatapath.Pass {
    /// Whether the popcount kernel reads this layer's input codes where they lie in padded channel planes
    /// (`ImageFrame`) rather than from the unrolled rows `orderedColumns` writes: ideal cells on the popcount route,
    /// a convolution of stride 1 or 2 (the same in both directions) whose output rows are at least 7 wide (a gather
    /// of 8 positions then spans at most one row end: Fashion-MNIST's 28, 14 and 7 as well as CIFAR's 32, 16 and 8).
    /// The same bits either way (`ImageRowsTests`).
    func readsImageRows(_ geo: ConvGeometry) -> Bool {
        readsImageRowsEnabled && array.usesPopcount && CrossbarArray.imageRowsAvailable && bits <= 8
            && geo.strideH == geo.strideW && (1...2).contains(geo.strideW) && geo.outW >= 7
    }
}

/// A layer's input codes as zero-padded channel planes — one image every `perImage` bytes, planes (H + 2·padH) ×
/// (W + 2·padW) — and each array row's byte offset in an image: its channel's plane and kernel tap, so the row's
/// code at output pixel (y, x) is at offset + stride·(y·(W + 2·padW) + x) (padding read as the code 0, as
/// `orderedColumns` writes it). A buffer of frames has `spare` readable bytes after the last (a stride-2 gather's
/// reach).
struct ImageFrame {
    let geo: ConvGeometry
    let paddedHeight: Int, paddedWidth: Int, perImage: Int
    /// Per array row (its order; none where only the framing is used).
    let rowOffsets: [Int64]

    init(_ geo: ConvGeometry, order: [Int] = []) {
        self.geo = geo
        let Hp = geo.height + 2 * geo.padH, Wp = geo.width + 2 * geo.padW, taps = geo.kernelH * geo.kernelW
        paddedHeight = Hp
        paddedWidth = Wp
        perImage = geo.channels * Hp * Wp
        rowOffsets = order.map { q in
            let c = q / taps, ky = (q % taps) / geo.kernelW, kx = q % geo.kernelW
            return Int64((c * Hp + ky) * Wp + kx)
        }
    }

    /// Bytes a stride-2 gather may read past a buffer's last frame (allocated and zeroed with the frames).
    static let spare = 16

    /// One image's channel planes [C, H, W] into its padded slot.
    func place(_ planes: UnsafePointer<UInt8>, into slot: UnsafeMutablePointer<UInt8>) {
        let H = geo.height, W = geo.width
        for c in 0..<geo.channels {
            for y in 0..<H {
                (slot + (c * paddedHeight + y + geo.padH) * paddedWidth + geo.padW)
                    .update(from: planes + (c * H + y) * W, count: W)
            }
        }
    }

    /// One image's channels-last codes [H, W, C] into its padded slot as channel planes, in one pass.
    func place(channelsLast codes: UnsafePointer<UInt8>, into slot: UnsafeMutablePointer<UInt8>) {
        bwma_bytes_to_padded_planes(codes, geo.height, geo.width, Int32(geo.channels), paddedHeight, paddedWidth,
                                    geo.padH, geo.padW, slot)
    }

    /// `body` with the kernel's description of the images in `framed`.
    func rows<T>(_ framed: UnsafePointer<UInt8>, _ body: (bwma_image_rows) -> T) -> T {
        rowOffsets.withUnsafeBufferPointer { offsets in
            body(bwma_image_rows(images: framed, image_stride: perImage, positions: geo.outPixels, width: geo.outW,
                                 padded_width: paddedWidth, row_offset: offsets.baseAddress!, stride: geo.strideW))
        }
    }
}
