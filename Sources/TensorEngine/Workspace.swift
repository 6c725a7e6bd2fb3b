import Foundation

/// Grow-only scratch memory shared by kernels that run one after another (im2col columns, per-worker gradient
/// partials). Each worker thread has its own slots, so parallel chunks never share scratch.
///
/// Slots are indexed by purpose (`Slot`); a request larger than the current slot reallocates it once, after which a
/// steady-state training step allocates nothing.
///
/// Sendable (unchecked): slot lookup and growth are guarded by `lock`; each worker uses only its own slots.
public final class Workspace: @unchecked Sendable {
    /// Purposes a kernel may ask scratch for.
    public enum Slot: Int, CaseIterable, Sendable {
        case columns = 0, columnGrad, weightGrad, biasGrad, packedWeight, paddedOutput
        /// oneDNN operands converted for one primitive call (`DNNLOperand`): its output, output gradient (and a second
        /// layout of it for the weight gradient), input, weight gradient; the integer convolution's sums.
        case convertedOutput, convertedGradient, convertedGradientForWeights, convertedInput, convertedWeightGradient
        case integerSums, windowSums
        /// A worker's scratch of the window sums' C kernel (`IntegerConvKernels.windowSums`).
        case windowSumsScratch
        /// The forward input and weights a oneDNN convolution converts right before its backward (`prepareBackward`),
        /// and the weights in backward-data's layout where it differs from the forward's (or, in a transposed
        /// backward data, the turned weights in bf16 OIHW: `DNNLConvolution.TransposedData`).
        case preparedInput, preparedWeights, convertedWeightsForData, transposedWeights
        /// A binarized layer's quantized input, rebuilt from its codes for the layer's backward (`tensor`).
        case kernelInput
        /// A binarized layer's weights α·B + β, its weight gradient before the straight-through rule, and its
        /// binarizer's sort buffer.
        case binarizedWeights, quantizedWeightGradient, binarizerScratch
        /// A worker's fp32 partial sums of a bf16 weight gradient and its chunk of padded input and paired output
        /// gradient (`BF16WeightGradient`).
        case weightGradPartial, weightGradScratch
        /// A hardware datapath's per-worker buffers for one pass (CIMSimulator's crossbar): its accumulators and
        /// kernel scratch, and its staged input images (the 8-bit integer route's per-image buffers too).
        case datapathBuffers, datapathInputs
        /// The weights of the engine's own 3 × 3 kernels in their packed layouts (`BF16Conv3x3`, `IntegerConv3x3`).
        case conv3x3Weights
    }

    private var buffers: [[Tensor?]] = []
    private let lock = NSLock()

    public init() {}

    /// A buffer of at least `bytes` bytes for `worker`'s `slot` (contents unspecified, 64-byte aligned).
    func buffer(_ slot: Slot, worker: Int = 0, bytes: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(buffer(slot, worker: worker, count: (bytes + 3) / 4))
    }

    /// The tensor of `worker`'s `slot`, holding `shape` (grown when needed; contents unspecified): scratch a layer
    /// hands to kernels that take tensors. Valid until the slot's next use.
    public func tensor(_ slot: Slot, worker: Int = 0, shape: [Int]) -> Tensor {
        withSlot(slot, worker) { t in
            t.ensure(shape: shape)
            return t
        }
    }

    /// A buffer of at least `count` floats for `worker`'s `slot` (contents unspecified).
    public func buffer(_ slot: Slot, worker: Int, count: Int) -> UnsafeMutablePointer<Float> {
        withSlot(slot, worker) { t in
            if t.capacity < count { t.ensure(shape: [count]) }
            return t.data
        }
    }

    /// Consecutive pieces of `worker`'s `slot` of these sizes in bytes, each 64-byte aligned (contents unspecified;
    /// valid until the slot's next use): several buffers of one pass from one grow-only slot.
    public func pieces(_ slot: Slot, worker: Int, bytes sizes: [Int]) -> [UnsafeMutableRawPointer] {
        let aligned = sizes.map { ($0 + 63) / 64 * 64 }
        let base = buffer(slot, worker: worker, bytes: Swift.max(aligned.reduce(0, +), 64))
        var offset = 0
        return aligned.map { size in
            defer { offset += size }
            return base + offset
        }
    }

    /// body(the slot's tensor, created empty on first use) under the lock.
    private func withSlot<R>(_ slot: Slot, _ worker: Int, _ body: (Tensor) -> R) -> R {
        lock.lock(); defer { lock.unlock() }
        while buffers.count <= worker { buffers.append(Array(repeating: nil, count: Slot.allCases.count)) }
        let t = buffers[worker][slot.rawValue] ?? Tensor(shape: [0])
        buffers[worker][slot.rawValue] = t
        return body(t)
    }
}
