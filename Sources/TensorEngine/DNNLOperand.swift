import CDNNL
import Foundation

/// One operand of a oneDNN primitive: the engine's plain fp32 buffer (NCHW, OIHW, or a vector) and, where the
/// primitive wants another layout or data type, a buffer of its own with the reorder between the two.
///
/// Inputs are `load`ed (user → inner) before the primitive runs; outputs are `store`d (inner → user) after it. An
/// accumulating output adds into the user buffer instead of overwriting it (a reorder with a sum post-op), as the
/// engine's backward kernels accumulate weight gradients.
final class DNNLOperand {
    let user: DNNLMemory
    let inner: DNNLMemory?
    private let reorder: DNNLPrimitive?
    let isOutput: Bool
    /// The shared scratch slot of a transient inner buffer; nil: the operand owns it (it must survive until the
    /// backward pass, like a forward input).
    let scratch: DNNLScratch.Slot?

    /// nil where oneDNN has no reorder between the two layouts (the caller then falls back to other kernels).
    init?(user userDesc: DNNLDesc, wanted: DNNLDesc, isOutput: Bool, accumulate: Bool = false,
          scratch: DNNLScratch.Slot? = nil, engine: DNNL) {
        self.isOutput = isOutput
        self.scratch = scratch
        user = DNNLMemory(userDesc, owning: false, engine: engine)
        if userDesc == wanted && !accumulate {
            inner = nil; reorder = nil
        } else {
            inner = DNNLMemory(wanted, owning: scratch == nil, engine: engine)
            let r = isOutput
                ? DNNLPrimitive(reorder: wanted, to: userDesc, accumulate: accumulate, engine: engine)
                : DNNLPrimitive(reorder: userDesc, to: wanted, engine: engine)
            guard let r else { return nil }
            reorder = r
        }
    }

    /// The memory the primitive reads or writes.
    var handle: dnnl_memory_t { (inner ?? user).handle }
    /// The layout the primitive uses.
    var desc: DNNLDesc { (inner ?? user).desc }

    /// Input: points at the caller's buffer and converts it for the primitive.
    func load(_ p: UnsafeRawPointer, engine: DNNL) {
        user.bind(p)
        if let reorder, let inner {
            attachScratch()
            engine.execute(reorder.primitive, [arg(DNNL_ARG_FROM, user.handle), arg(DNNL_ARG_TO, inner.handle)])
        }
    }

    /// Output, before the primitive runs: points at the caller's buffer (written directly when no reorder is needed).
    func bind(_ p: UnsafeMutableRawPointer) {
        user.bind(p)
        attachScratch()
    }

    /// Points a transient inner buffer at its shared scratch slot (no other operand uses the slot meanwhile).
    private func attachScratch() {
        if let scratch, let inner { inner.bind(DNNLScratch.shared.buffer(scratch, bytes: inner.desc.byteCount)) }
    }

    /// Output, after the primitive ran: converts (or adds) the primitive's result into the caller's buffer.
    func store(engine: DNNL) {
        if let reorder, let inner {
            engine.execute(reorder.primitive, [arg(DNNL_ARG_FROM, inner.handle), arg(DNNL_ARG_TO, user.handle)])
        }
    }
}

/// An execution argument.
@inline(__always)
func arg(_ kind: Int32, _ memory: dnnl_memory_t) -> dnnl_exec_arg_t { dnnl_exec_arg_t(arg: kind, memory: memory) }

/// Grow-only scratch for the converted operands that live only during one primitive call (outputs, output
/// gradients, weight gradients): every layer's convolution shares them, so converted copies cost memory once per
/// process instead of once per layer. Layers run one after another, so one buffer per purpose suffices.
final class DNNLScratch: @unchecked Sendable {
    enum Slot: Int, CaseIterable {
        case output = 0, gradient, gradientForWeights, input, weightGradient, integerSums, windowSums
    }

    static let shared = DNNLScratch()

    private var buffers: [(pointer: UnsafeMutableRawPointer, bytes: Int)?] = Array(repeating: nil,
                                                                                    count: Slot.allCases.count)

    /// A buffer of at least `bytes` bytes for `slot` (contents unspecified), 64-byte aligned.
    func buffer(_ slot: Slot, bytes: Int) -> UnsafeMutableRawPointer {
        if let b = buffers[slot.rawValue], b.bytes >= bytes { return b.pointer }
        if let b = buffers[slot.rawValue] { free(b.pointer) }
        var raw: UnsafeMutableRawPointer?
        // The call stays outside the check: -Ounchecked does not evaluate a precondition's condition.
        let rc = posix_memalign(&raw, 64, Swift.max(bytes, 64))
        if rc != 0 || raw == nil { fatalError("out of memory allocating \(bytes) bytes of oneDNN scratch") }
        buffers[slot.rawValue] = (raw!, bytes)
        return raw!
    }
}
