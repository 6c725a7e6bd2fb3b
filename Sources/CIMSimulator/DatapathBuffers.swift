import TensorEngine

/// One worker's buffers for a datapath pass: two input buffers (raw values, codes), the accumulators and the
/// crossbar's scratch — pieces of the worker's grow-only workspace slot, so a steady-state pass allocates nothing
/// and touches no fresh pages. Valid until the worker's next pass.
struct DatapathBuffers {
    let raw: UnsafeMutablePointer<Float>, codes: UnsafeMutablePointer<Float>
    let acc: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>

    init(worker: Int, inputs: Int, accumulators: Int, scratch: Int) {
        let p = EngineContext.workspace.pieces(.datapathBuffers, worker: worker,
                                               bytes: [inputs, inputs, accumulators, scratch].map { 4 * $0 })
        raw = p[0].bindMemory(to: Float.self, capacity: inputs)
        codes = p[1].bindMemory(to: Float.self, capacity: inputs)
        acc = p[2].bindMemory(to: Float.self, capacity: accumulators)
        self.scratch = p[3].bindMemory(to: Float.self, capacity: scratch)
    }
}
