import CIMSimulator
import Distributed
import Models
import Optim
import TensorEngine
import Training

/// Times full training steps (forward, loss, backward, SGD update) on synthetic data.
public enum StepBenchmark {
    public struct Result: Codable, Sendable {
        public var model: String
        public var batch: Int
        public var input: String
        /// `fp32`, `bwn` or `bwma` (with `abits`-bit activations).
        public var quant: String
        public var abits: Int
        public var threads: Int
        public var steps: Int
        public var images_per_s: Double
        public var ms_per_step: Double
        public var peak_rss_mb: Double
        public var blas_core: String
        /// The convolution backend in effect (`onednn` or `reference`).
        public var backend: String
        /// The precision in effect (`fp32`, or `bf16` where the CPU runs it natively).
        public var precision: String
        /// oneDNN's instruction set on this CPU (e.g. `avx512_core_bf16`; also reported on the reference backend).
        public var isa: String
        /// How oneDNN was asked to compute fp32 3 × 3 convolutions (`auto`: Winograd where it pays; `direct`).
        public var conv_algorithm: String
        /// backend/precision (ISA), one string for logs.
        public var engine: String
        /// Optional per-step times (ms) for a look at variance.
        public var step_ms: [Double]
        /// Processes taking part (under mpirun); `images_per_s` counts all of them.
        public var ranks: Int
        /// Share of the step rank 0 spent waiting for the gradient allreduce.
        public var comm_wait_share: Double
        /// Gradient buckets in launch order (bytes; empty for one process) and whether backward overlapped them.
        public var bucket_bytes: [Int]
        public var overlap: Bool
        /// CIM-aware training: the ADC bits of the simulated chip every step's forward ran through (0: off).
        public var cim_adc_bits: Int
        /// The datapath's kernels on this CPU when CIM-aware (`CrossbarArray.idealCellKernels`; empty: off).
        public var cim_kernel: String
    }

    public static func run(model: Model, batch: Int, steps: Int, warmup: Int = 3, seed: UInt64 = 0,
                           quant: String = "fp32", abits: Int = 32, communicator: Communicator? = nil,
                           bucketBytes: Int = Bucketing.defaultCapBytes,
                           firstBucketBytes: Int? = Bucketing.defaultFirstCapBytes, overlap: Bool = true,
                           cim: CIMConfig? = nil) throws -> Result {
        let comm = try communicator ?? Communicator.world()
        // CIM-aware training (cim.md §7): every forward through the simulated chip, backward straight-through.
        if let cim { HardwareAwareInference.attach(to: model, config: cim) }
        defer { if cim != nil { HardwareAwareInference.detach(from: model) } }
        var rng = RNG(seed: seed, stream: 7)
        let x = Tensor(shape: [batch] + model.inputShape)
        for i in 0..<x.count { x.data[i] = rng.normal() }
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: batch)
        defer { labels.deallocate() }
        for i in 0..<batch { labels[i] = Int32(rng.below(model.numClasses)) }
        let sgd = SGD(store: model.store, momentum: 0.9, weightDecay: 5e-4, nesterov: true)
        let sync = comm.size > 1
            ? GradientSync(store: model.store, communicator: comm, capBytes: bucketBytes, firstCapBytes: firstBucketBytes,
                           overlap: overlap) : nil
        let step = TrainingStep(model: model, optimizer: sgd, sync: sync)
        for _ in 0..<warmup { try step.run(x: x, labels: labels, lr: 0.01) }
        try comm.barrier()
        var times: [Double] = []
        times.reserveCapacity(steps)
        var wait = 0.0
        for _ in 0..<steps {
            let t0 = ProcessClock.now()
            try step.run(x: x, labels: labels, lr: 0.01)
            times.append((ProcessClock.now() - t0) * 1000)
            wait += sync?.lastWaitSeconds ?? 0
        }
        let total = times.reduce(0, +)
        let ms = total / Double(Swift.max(steps, 1))
        return Result(model: model.arch, batch: batch, input: model.inputShape.map(String.init).joined(separator: "x"),
                      quant: quant, abits: quant == "fp32" ? 32 : abits,
                      threads: Parallel.threads, steps: steps, images_per_s: Double(batch * comm.size) * 1000 / ms,
                      ms_per_step: ms, peak_rss_mb: ProcessStats.peakRSSMB, blas_core: BLAS.coreName,
                      backend: EngineContext.backend.rawValue, precision: EngineContext.precision.rawValue,
                      isa: DNNL.isaName, conv_algorithm: EngineContext.convAlgorithm.rawValue,
                      engine: EngineContext.summary, step_ms: times,
                      ranks: comm.size, comm_wait_share: wait * 1000 / Swift.max(total, 1e-9),
                      bucket_bytes: sync?.buckets.map { $0.count * 4 } ?? [], overlap: overlap,
                      cim_adc_bits: cim?.adcBits ?? 0, cim_kernel: cim == nil ? "" : CrossbarArray.idealCellKernels)
    }
}
