import CDNNL

/// A oneDNN memory descriptor built from dims, data type and layout tag.
struct DNNLDesc {
    var md: dnnl_memory_desc_t

    init(_ dims: [Int], _ type: dnnl_data_type_t, _ tag: dnnl_format_tag_t) {
        md = dnnl_memory_desc_t()
        let d = dims.map { dnnl_dim_t($0) }
        DNNL.check(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, type, tag), "memory descriptor \(dims)")
    }

    init(_ md: dnnl_memory_desc_t) { self.md = md }

    /// Bytes of a buffer in this layout.
    var byteCount: Int { withUnsafePointer(to: md) { dnnl_memory_desc_get_size($0) } }

    static func == (a: DNNLDesc, b: DNNLDesc) -> Bool {
        withUnsafePointer(to: a.md) { pa in withUnsafePointer(to: b.md) { pb in dnnl_memory_desc_equal(pa, pb) != 0 } }
    }
}

/// A oneDNN memory object: a view of a buffer the engine owns (a tensor, an operand's own buffer, a workspace slot),
/// bound before each use. Never one that allocates its own buffer: oneDNN frees such a buffer on the first
/// `set_data_handle`, even to the same address.
final class DNNLMemory {
    let handle: dnnl_memory_t
    let desc: DNNLDesc

    /// Starts unbound: call `bind` before use.
    init(_ desc: DNNLDesc, engine: DNNL) {
        self.desc = desc
        var m: dnnl_memory_t?
        let status = withUnsafePointer(to: desc.md) { dnnl_memory_create(&m, $0, engine.engine, nil) }
        DNNL.check(status, "memory create")
        handle = m!
    }

    deinit { dnnl_memory_destroy(handle) }

    /// The buffer the memory points at (bound before).
    var pointer: UnsafeRawPointer {
        var p: UnsafeMutableRawPointer?
        DNNL.check(dnnl_memory_get_data_handle(handle, &p), "get data handle")
        guard let p else { preconditionFailure("DNNLMemory.pointer: an unbound memory") }
        return UnsafeRawPointer(p)
    }

    /// Points the memory at a caller's buffer (which must hold `desc.byteCount` bytes in `desc`'s layout).
    func bind(_ p: UnsafeRawPointer) {
        DNNL.check(dnnl_memory_set_data_handle(handle, UnsafeMutableRawPointer(mutating: p)), "set data handle")
    }
}

/// A created primitive and its descriptor, destroyed together.
final class DNNLPrimitive {
    let descriptor: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t

    /// Creates the primitive for an operation descriptor; nil where oneDNN has no implementation for it on this
    /// CPU (e.g. bf16 under `ONEDNN_MAX_CPU_ISA=AVX2`).
    convenience init?(_ opDesc: UnsafeRawPointer, attr: dnnl_primitive_attr_t? = nil, hint: DNNLPrimitive? = nil,
                      engine: DNNL) {
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, opDesc, attr, engine.engine, hint?.descriptor) == dnnl_success,
              let pd else { return nil }
        self.init(descriptor: pd)
    }

    /// A reorder from one layout/type to another, optionally adding into the destination (`accumulate`).
    convenience init?(reorder from: DNNLDesc, to: DNNLDesc, accumulate: Bool = false, engine: DNNL) {
        var attr: dnnl_primitive_attr_t?
        DNNL.check(dnnl_primitive_attr_create(&attr), "attr create")
        defer { dnnl_primitive_attr_destroy(attr) }
        if accumulate {
            var ops: dnnl_post_ops_t?
            DNNL.check(dnnl_post_ops_create(&ops), "post-ops create")
            defer { dnnl_post_ops_destroy(ops) }
            DNNL.check(dnnl_post_ops_append_sum(ops, 1), "post-op sum")
            DNNL.check(dnnl_primitive_attr_set_post_ops(attr, ops), "set post-ops")
        }
        var pd: dnnl_primitive_desc_t?
        let ok = withUnsafePointer(to: from.md) { f in
            withUnsafePointer(to: to.md) { t in
                dnnl_reorder_primitive_desc_create(&pd, f, engine.engine, t, engine.engine, attr) == dnnl_success
            }
        }
        guard ok, let pd else { return nil }
        self.init(descriptor: pd)
    }

    /// Creates the primitive of a descriptor, which it then owns (destroyed here if creation fails).
    private init?(descriptor pd: dnnl_primitive_desc_t) {
        var p: dnnl_primitive_t?
        guard dnnl_primitive_create(&p, pd) == dnnl_success, let p else {
            dnnl_primitive_desc_destroy(pd)
            return nil
        }
        descriptor = pd; primitive = p
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }

    /// The layout the primitive chose for one of its operands (`dnnl_query_src_md`, …).
    func desc(_ what: dnnl_query_t, index: Int32 = 0) -> DNNLDesc {
        DNNLDesc(dnnl_primitive_desc_query_md(descriptor, what, index)!.pointee)
    }

    /// The implementation oneDNN picked, e.g. `brgconv:avx512_core_bf16`.
    var implementation: String {
        var s: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &s) == dnnl_success, let s else {
            return "unknown"
        }
        return String(cString: s)
    }
}
