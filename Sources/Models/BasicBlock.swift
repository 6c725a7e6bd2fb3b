import Quantization
import TensorEngine

/// How a residual block matches shapes when its stride or width changes.
public enum ShortcutKind: String, Sendable {
    /// Parameter-free: subsample and zero-pad channels (He et al. 2016, option A; CIFAR ResNets).
    case optionA
    /// 1x1 convolution + batch norm (option B; ImageNet ResNets).
    case optionB
}

/// Gradient buffers shared by the basic blocks of one network. A block's inner gradients are dead once its backward
/// returns, so every block can use the same few tensors (sized for the largest block): with ResNet-20 at batch 128
/// this replaces ~50 per-layer gradient tensors with 5 and cuts peak memory by a quarter. Blocks alternate between
/// the two `output` tensors so that a block's input gradient never aliases the gradient its predecessor reads.
/// Layers before the first block may use `first` too (ResNet-18's stem pool): it is dead once the blocks are done.
public final class BlockGradientBuffers {
    let sum = Tensor(shape: [0]), first = Tensor(shape: [0]), second = Tensor(shape: [0])
    let output = [Tensor(shape: [0]), Tensor(shape: [0])]
    public init() {}
}

/// ResNet basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), with the inner ReLU fused into bn1 and
/// the outer one into the residual sum.
public final class BasicBlock: Layer {
    let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d
    /// Option B projection (nil for identity or option A).
    let projection: Sequential?
    let kind: ShortcutKind
    let inChannels: Int, outChannels: Int, stride: Int
    var identity: Bool { stride == 1 && inChannels == outChannels }

    /// [N, Cout, H', W'] block output after the fused add + ReLU.
    let y = Tensor(shape: [0])
    /// The output rounded to bf16, written in the same pass for the next block's convolutions where they read bf16
    /// (`writesInnerBF16`; its shortcut reads y).
    let yBF16 = Tensor(shape: [0])
    /// The blocks before and after this one in a chain (`chain`).
    private weak var previous: BasicBlock?, next: BasicBlock?
    /// The projection's convolution (option B).
    private var projectionConv: Conv2d? { projection?.layers.first as? Conv2d }
    /// Option-A shortcut output [N, Cout, H', W'] (or the identity/projection output converted to the main path's
    /// layout, where the two differ).
    let shortcut = Tensor(shape: [0])
    /// The block input or the gradient at the sum in the other layout, where the two paths' layouts differ.
    let shortcutInput = Tensor(shape: [0])
    /// The layout the projection's output had in the last forward (its backward takes its gradient so).
    var projectionLayout = Tensor.Layout.nchw
    /// [N, Cout, H', W'] gradient at the sum (before the final ReLU).
    let dsum: Tensor
    /// [N, Cin, H, W]
    let dx: Tensor
    var input: Tensor?
    /// Set (by `chain`) when this block's input is the output of a block before it, which then skips the final
    /// ReLU's backward: this block's dx is the sum's gradient masked by that ReLU's output, [x > 0] — the same
    /// values, one pass over the activations fewer per pair of blocks. Only for a sum (identity or projection).
    public internal(set) var masksInputGradient = false
    /// Set (by `chain`) when the block after this one masks its input gradient: dy is already zero where the final
    /// ReLU's output is, and is the gradient at the sum as it stands.
    public internal(set) var receivesMaskedGradient = false
    /// Whether the shortcut's gradient is added to the main path's (identity, projection) rather than scattered.
    var shortcutIsSum: Bool { identity || projection != nil }

    /// - Parameters:
    ///   - shared: gradient buffers shared with the network's other blocks (nil: the block owns its buffers).
    ///   - index: the block's position in the network; it picks which shared output buffer the block writes.
    public init(_ store: ParameterStore, _ name: String, inChannels: Int, outChannels: Int, stride: Int,
                shortcut kind: ShortcutKind, shared: BlockGradientBuffers? = nil, index: Int = 0,
                quant: QuantPolicy = .fp32) {
        self.inChannels = inChannels; self.outChannels = outChannels; self.stride = stride; self.kind = kind
        conv1 = Conv2d(store, "\(name).conv1", inChannels: inChannels, outChannels: outChannels, kernel: 3,
                       stride: stride, padding: 1, quant: quant.spec(for: "\(name).conv1", role: .middle))
        bn1 = BatchNorm2d(store, "\(name).bn1", channels: outChannels, fusedReLU: true)
        conv2 = Conv2d(store, "\(name).conv2", inChannels: outChannels, outChannels: outChannels, kernel: 3,
                       stride: 1, padding: 1, quant: quant.spec(for: "\(name).conv2", role: .middle))
        bn2 = BatchNorm2d(store, "\(name).bn2", channels: outChannels)
        // Backward chain: dsum → bn2 → first → conv2 → second → bn1 (+ReLU) → first → conv1 → second,
        // then dx = second + shortcut(dsum); a projection's batch norm writes its gradient over dsum (dead by
        // then) and its convolution into first. In forward the buffers are dead: the outputs of bn2 and of the
        // projection's batch norm, read only by the residual sum, live in first and second.
        let buffers = shared ?? BlockGradientBuffers()
        if kind == .optionB && (stride != 1 || inChannels != outChannels) {
            let conv = Conv2d(store, "\(name).downsample.0", inChannels: inChannels, outChannels: outChannels,
                              kernel: 1, stride: stride, quant: quant.spec(for: "\(name).downsample.0", role: .middle))
            let bn = BatchNorm2d(store, "\(name).downsample.1", channels: outChannels)
            bn.gradientInPlace = true
            bn.outputScratch = buffers.second
            conv.dx = buffers.first
            conv.outputFeedsBatchNorm = true
            projection = Sequential([conv, bn])
        } else {
            projection = nil
        }
        precondition(kind == .optionB || outChannels >= inChannels, "option A cannot shrink channels")
        conv1.outputFeedsBatchNorm = true
        conv2.outputFeedsBatchNorm = true
        bn2.outputScratch = buffers.first
        dsum = buffers.sum
        dx = buffers.output[index % 2]
        bn2.dx = buffers.first
        conv2.dx = buffers.second
        bn1.dx = buffers.first
        conv1.dx = buffers.second
    }

    public var children: [Layer] { [conv1, bn1, conv2, bn2] + (projection.map { [$0] } ?? []) }

    public func outputShape(for input: [Int]) -> [Int] { conv1.outputShape(for: input) }

    public func initialize(rng: inout RNG) {
        for c in children { c.initialize(rng: &rng) }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        // x in bf16 where the block before wrote it so, for the convolutions that read that.
        let x16 = previous.flatMap { $0.bf16Output(of: x) }
        var h = conv1.forward(conv1.readsBF16Input ? x16 ?? x : x, training: training)
        bn1.writesBF16Output = writesInnerBF16 && conv2.readsBF16Input
        h = bn1.forward(h, training: training)
        h = conv2.forward(h, training: training)
        // The shortcut first: bn2 can then write relu(bn2(h) + shortcut) in one pass (channels-last).
        let s = shortcut(x, x16, shape: h.shape, layout: h.layout, training: training)
        y.ensure(shape: h.shape)
        y.layout = h.layout
        let copy = writesInnerBF16 && next?.readsBF16Input == true ? yBF16 : nil
        summedInBatchNorm = fusesSum && bn2.forward(h, training: training, addingReLU: s, into: y, copy: copy)
        if !summedInBatchNorm {
            h = bn2.forward(h, training: training)
            ElementwiseKernels.addRelu(y.data, h.data, s.data, count: h.count)
        }
        input = x
        return y
    }

    /// Whether bn1 hands conv2 its output in bf16 where conv2 reads that (`BatchNorm2d.writesBF16Output`), and bn2
    /// the next block's convolutions the output (`yBF16`): the same bits; off only to compare.
    public var writesInnerBF16 = true

    /// Whether a convolution that reads this block's input reads it in bf16.
    var readsBF16Input: Bool { conv1.readsBF16Input || projectionConv?.readsBF16Input == true }

    /// `yBF16` where it holds x (this block's output) rounded, written by the last forward.
    private func bf16Output(of x: Tensor) -> Tensor? {
        x === y && summedInBatchNorm && bn2.lastWroteCopy ? yBF16 : nil
    }

    /// conv1's input quantizer where its backward runs fused with the masked sum of the block's input gradient:
    /// a BWMA staircase with the rule's range on a block that masks its input gradient (a sum after a ReLU), its
    /// input the block's own (Float) input — with or without a datapath in forward (its backward is the software
    /// one). Off (`fusesInputQuantizer`) only to compare.
    private var fusedInputQuantizer: BWMAActivationQuantizer? {
        guard fusesInputQuantizer, masksInputGradient, shortcutIsSum,
              let q = conv1.quantization?.inputQuantizer as? BWMAActivationQuantizer, q.addsMaskedInBackward
        else { return nil }
        return q
    }

    /// Whether the block fuses conv1's quantizer backward into its input-gradient sum where it can (the same
    /// bits as the two passes; off only to compare).
    public var fusesInputQuantizer = true
    /// Whether the last backward did (diagnostics, tests).
    public private(set) var fusedLastBackward = false

    /// Whether bn2 writes the block's output relu(bn2(·) + shortcut) itself where it can (the same bits as bn2
    /// then add + ReLU; off only to compare).
    public var fusesSum = true
    /// Whether the last forward's bn2 wrote the output (diagnostics, tests).
    public private(set) var summedInBatchNorm = false

    /// The shortcut's output (`shape`, in `layout`): x itself, the projection's output, or option A's subsampled and
    /// zero-padded x.
    private func shortcut(_ x: Tensor, _ x16: Tensor?, shape: [Int], layout: Tensor.Layout, training: Bool)
        -> Tensor {
        if identity { return x.converted(to: layout, using: shortcut) }
        if let projection {
            let p = projection.forward(projectionConv?.readsBF16Input == true ? x16 ?? x : x, training: training)
            projectionLayout = p.layout
            return p.converted(to: layout, using: shortcut)
        }
        let xs = x.converted(to: layout, using: shortcutInput)
        shortcut.ensure(shape: shape)
        shortcut.layout = layout
        let kernel = layout == .nhwc ? ShortcutKernels.forwardChannelsLast : ShortcutKernels.forward
        kernel(shortcut.data, xs.data, x.shape[0], inChannels, x.shape[2], x.shape[3], outChannels, stride)
        return shortcut
    }

    /// Lets consecutive blocks of a network fold the ReLU backward between them into the sum before it (see
    /// `masksInputGradient`): for each block whose input is its predecessor's output and whose shortcut is a sum.
    /// Also links each block to its neighbours, for the bf16 copy of the output (`yBF16`).
    public static func chain(_ blocks: [BasicBlock]) {
        for (before, after) in zip(blocks, blocks.dropFirst()) {
            before.next = after
            after.previous = before
            guard after.shortcutIsSum else { continue }
            after.masksInputGradient = true
            before.receivesMaskedGradient = true
        }
    }

    /// Undoes `chain` (tests compare both).
    public func unchain() {
        masksInputGradient = false; receivesMaskedGradient = false
        previous = nil; next = nil
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("BasicBlock.backward without a forward") }
        let dsum: Tensor
        if receivesMaskedGradient {
            precondition(dy.shape == y.shape && dy.layout == y.layout, "BasicBlock: a masked gradient of another shape")
            dsum = dy
        } else {
            dsum = self.dsum
            dsum.ensure(shape: y.shape)
            dsum.layout = y.layout
            ActivationKernels.reluBackward(dx: dsum.data, dy: dy.data, x: y.data, count: y.count)
        }
        var g = bn2.backward(dsum)
        g = conv2.backward(g)
        g = bn1.backward(g)
        // conv1's input quantizer reads the block's input x, as the ReLU mask before the sum does: its backward
        // and the masked sum are one pass (`fusedInputQuantizer`).
        let fused = fusedInputQuantizer
        conv1.defersInputQuantizerGradient = fused != nil
        fusedLastBackward = fused != nil
        g = conv1.backward(g)
        conv1.defersInputQuantizerGradient = false
        dx.ensure(shape: x.shape)
        dx.layout = x.layout
        if shortcutIsSum {
            let s = projection.map { $0.backward(dsum.converted(to: projectionLayout, using: shortcutInput)) }
                ?? dsum.converted(to: x.layout, using: shortcutInput)
            if let fused {
                fused.backwardAddingMasked(out: dx.data, dy: g.data, x: x.data, shortcut: s.data, count: dx.count)
            } else if masksInputGradient {
                ElementwiseKernels.addMasked(dx.data, g.data, s.data, mask: x.data, count: dx.count)
            } else {
                ElementwiseKernels.add(dx.data, g.data, s.data, count: dx.count)
            }
        } else {
            dx.data.update(from: g.data, count: dx.count)
            let ds = dsum.converted(to: x.layout, using: shortcutInput)
            let kernel = x.layout == .nhwc
                ? ShortcutKernels.backwardAccumulateChannelsLast : ShortcutKernels.backwardAccumulate
            kernel(dx.data, ds.data, x.shape[0], inChannels, x.shape[2], x.shape[3], outChannels, stride)
        }
        return dx
    }
}
