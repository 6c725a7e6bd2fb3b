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
    /// The operand's own buffer for a converted copy that must outlive one call, allocated here on first use (never
    /// by oneDNN: its `set_data_handle` frees a buffer the memory allocated itself, so rebinding such a memory to a
    /// workspace slot and back would write into freed memory). Unpaged until first written.
    private var ownBuffer: UnsafeMutableRawPointer?
    /// The workspace slot of a transient inner buffer, which lives one primitive call: every layer's convolution
    /// shares it, so converted copies cost memory once per process instead of once per layer. nil: the operand owns
    /// its buffer (it must survive until the backward pass, like a forward input).
    let scratch: Workspace.Slot?

    /// nil where oneDNN has no reorder between the two layouts (the caller then falls back to other kernels).
    init?(user userDesc: DNNLDesc, wanted: DNNLDesc, isOutput: Bool, accumulate: Bool = false,
          scratch: Workspace.Slot? = nil, engine: DNNL) {
        self.scratch = scratch
        user = DNNLMemory(userDesc, engine: engine)
        if userDesc == wanted && !accumulate {
            inner = nil; reorder = nil
        } else {
            inner = DNNLMemory(wanted, engine: engine)
            let r = isOutput
                ? DNNLPrimitive(reorder: wanted, to: userDesc, accumulate: accumulate, engine: engine)
                : DNNLPrimitive(reorder: userDesc, to: wanted, engine: engine)
            guard let r else { return nil }
            reorder = r
        }
    }

    deinit { free(ownBuffer) }

    /// The own buffer, allocated on first use (64-byte aligned, like oneDNN's).
    private func ownStorage(_ bytes: Int) -> UnsafeMutableRawPointer {
        if let ownBuffer { return ownBuffer }
        var raw: UnsafeMutableRawPointer?
        let rc = posix_memalign(&raw, 64, Swift.max(bytes, 1))
        guard rc == 0, let raw else { fatalError("out of memory allocating \(bytes) bytes for a oneDNN operand") }
        ownBuffer = raw
        return raw
    }

    /// The memory the primitive reads or writes.
    var handle: dnnl_memory_t { (inner ?? user).handle }
    /// The layout the primitive uses.
    var desc: DNNLDesc { (inner ?? user).desc }
    /// The buffer the primitive reads or writes (after `load` or `bind`).
    var pointer: UnsafeRawPointer { (inner ?? user).pointer }

    /// Input: points at the caller's buffer and converts it for the primitive — into the operand's own buffer, or
    /// (`transient`) into a workspace slot for a copy that lives one primitive call even though the operand owns a
    /// buffer (a forward input converted just before its backward).
    func load(_ p: UnsafeRawPointer, engine: DNNL, transient: Workspace.Slot? = nil) {
        user.bind(p)
        if let reorder, let inner {
            bindInner(inner, transient: transient)
            engine.execute(reorder.primitive, [arg(DNNL_ARG_FROM, user.handle), arg(DNNL_ARG_TO, inner.handle)])
        }
    }

    /// Points the inner memory at its storage for this call: a workspace slot (`transient`, or the operand's
    /// `scratch`), else the operand's own buffer.
    private func bindInner(_ inner: DNNLMemory, transient: Workspace.Slot?) {
        if let slot = transient ?? scratch {
            bindTransient(slot)
        } else {
            inner.bind(ownStorage(inner.desc.byteCount))
        }
    }

    /// Points the inner buffer at a workspace slot and returns it, for a caller that writes the primitive's layout
    /// itself (no reorder; valid for one primitive call; no other operand uses the slot meanwhile: layers run one
    /// after another). Requires an inner buffer.
    @discardableResult
    func bindTransient(_ slot: Workspace.Slot) -> UnsafeMutableRawPointer {
        guard let inner else { preconditionFailure("bindTransient: the operand is used in place") }
        let p = EngineContext.workspace.buffer(slot, bytes: inner.desc.byteCount)
        inner.bind(p)
        return p
    }

    /// Output, before the primitive runs: points at the caller's buffer (written directly when no reorder is needed).
    func bind(_ p: UnsafeMutableRawPointer) {
        user.bind(p)
        if let inner { bindInner(inner, transient: nil) }
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

