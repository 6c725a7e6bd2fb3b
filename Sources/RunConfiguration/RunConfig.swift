import CIMSimulator

/// The resolved configuration of a training run. Key names are the YAML keys (see docs/configuration.md) and are a
/// stable interface: configs and `--set a.b=c` overrides name them.
public struct RunConfig: Codable, Sendable, Equatable {
    public var name: String = "run"
    public var seed: UInt64 = 0
    public var data = DataConfig()
    public var model = ModelConfig()
    public var optim = OptimConfig()
    public var schedule = ScheduleConfig()
    public var quant = QuantConfig()
    public var loss = LossConfig()
    public var distributed = DistributedConfig()
    public var runtime = RuntimeConfig()
    public var cim = CIMRunConfig()

    public init() {}

    /// Datasets, augmentation and the loader (docs/data.md).
    public struct DataConfig: Codable, Sendable, Equatable {
        /// `fashion-mnist`, `mnist` (IDX), `cifar10`, `cifar100` (binary), `imagenet`/`imagefolder` (JPEG folders),
        /// `packed` (`bwma data pack` output) or `synthetic`.
        public var dataset: String = "fashion-mnist"
        public var path: String = "/usr/share/datasets/fashion-mnist"
        /// `auto` (per dataset), `none`, `crop-flip` or `random-resized-crop` for training; evaluation never
        /// augments (image folders: resize + center crop).
        public var augment: String = "auto"
        /// `crop-flip`: zero padding around the image before the random crop.
        public var crop_padding: Int = 4
        /// Image folders and `random-resized-crop`: output side (evaluation resizes to side·256/224 first).
        public var image_size: Int = 224
        /// Background threads rendering batches (0 = in the training thread).
        public var workers: Int = 1
        /// Batches in the loader's ring (ready or being rendered).
        public var prefetch: Int = 4
        /// `error`: an unreadable sample, non-image file or empty class folder stops the run; `skip`: they are left
        /// out and counted in the log.
        public var bad_samples: String = "error"
        /// Decode JPEGs at 1/2, 1/4, 1/8 size when the crop is reduced at least that much.
        public var dct_scaling: Bool = true
        /// CIFAR-100: `fine` (100 classes) or `coarse` (20).
        public var cifar100_labels: String = "fine"
        /// `synthetic`: train/test sample counts, image shape CxHxW and classes.
        public var synthetic_train: Int = 10_000
        public var synthetic_test: Int = 2_000
        public var synthetic_shape: String = "3x32x32"
        public var synthetic_classes: Int = 10
        /// Per-rank batch size.
        public var batch_size: Int = 128
        public var eval_batch_size: Int = 500
        /// Use only the first N training samples (0 = all); for smoke runs.
        public var limit_train: Int = 0
        /// Use only the first N test samples (0 = all).
        public var limit_test: Int = 0
        /// Drop the last incomplete training batch of an epoch.
        public var drop_last: Bool = false
        public init() {}
    }

    public struct ModelConfig: Codable, Sendable, Equatable {
        public var arch: String = "resnet20"
        /// 0 = take from the dataset.
        public var in_channels: Int = 0
        public var num_classes: Int = 0
        public init() {}
    }

    public struct OptimConfig: Codable, Sendable, Equatable {
        /// `sgd`, `adam` or `adamw`.
        public var name: String = "sgd"
        public var lr: Double = 0.1
        public var momentum: Double = 0.9
        public var nesterov: Bool = true
        public var weight_decay: Double = 5e-4
        public var beta1: Double = 0.9
        public var beta2: Double = 0.999
        public var eps: Double = 1e-8
        public init() {}
    }

    public struct ScheduleConfig: Codable, Sendable, Equatable {
        /// `cosine`, `step`, `multistep` or `constant`.
        public var name: String = "cosine"
        public var epochs: Int = 3
        public var warmup_epochs: Double = 0
        /// `step`: decay every `step_epochs` epochs by `gamma`; `multistep`: at each of `milestones` (epochs).
        public var step_epochs: Int = 30
        public var milestones: [Int] = []
        public var gamma: Double = 0.1
        /// `cosine`: the final learning rate.
        public var min_lr: Double = 0
        public init() {}
    }

    /// Binary weights / k-bit activations (docs/method.md, docs/configuration.md).
    public struct QuantConfig: Codable, Sendable, Equatable {
        /// `fp32`, `bwn`, `bwma` (balanced closed form) or `bwma-opt` (unconstrained two-level optimum).
        public var weights: String = "fp32"
        /// `fp32`, `uniform-ste`, `pact`, `lsq` or `bwma`.
        public var activations: String = "fp32"
        /// Activation bits, 1…8.
        public var abits: Int = 4
        /// One split, α and β per output channel (each filter balanced); false: one per layer.
        public var per_channel: Bool = true
        /// Straight-through window for the latent weights in units of α (0 = no clipping).
        public var ste_clip: Double = 3
        /// Also propagate gradients through α and β.
        public var scale_gradient: Bool = false
        /// Amplitude a of the BWMA soft staircase's gradient 1 − a·cos(2πx/Δ), in [0, 1] (0: straight-through).
        public var bwma_amplitude: Double = 0.5
        /// BWMA range: `rms` (c = κ_k·rms, the rule) or `learned` (a parameter, initialised by the rule).
        public var bwma_range: String = "rms"
        /// `fp32` or `quantized` for the network's first layer and its last (classifier).
        public var first_layer: String = "fp32"
        public var last_layer: String = "fp32"
        /// Per-layer overrides `"<name or prefix*>=<fp32|w1|a<k>|w1a<k>>"`.
        public var layers: [String] = []
        public init() {}
    }

    public struct LossConfig: Codable, Sendable, Equatable {
        public var label_smoothing: Double = 0
        public init() {}
    }

    /// Data-parallel training over MPI (docs/distributed.md); ignored in a world of one.
    public struct DistributedConfig: Codable, Sendable, Equatable {
        /// Gradient bucket cap in MiB (4: hides communication better than PyTorch DDP's 25 on CPU clusters'
        /// 1–10 Gbit/s links, docs/distributed.md "Scaling").
        public var bucket_mb: Double = 4
        /// Cap of the first bucket (the last layers' gradients, ready first) in MiB, PyTorch DDP's 1 MiB.
        public var first_bucket_mb: Double = 1
        /// Start each bucket's allreduce while backward continues.
        public var overlap: Bool = true
        /// Synchronised batch norm: batch statistics (and the BWMA activation range) over the global batch.
        public var sync_bn: Bool = false
        /// Collective timeout in seconds (0 = off): a collective or the step agreement that has not completed in this
        /// time ends the job with a message naming the step, the collective and the ranks that did not arrive.
        public var timeout_s: Double = 300
        public init() {}
    }

    public struct RuntimeConfig: Codable, Sendable, Equatable {
        /// Worker threads for the engine's loops (a single process; MPI ranks use 1).
        public var threads: Int = 1
        /// Convolution kernels: `auto` (oneDNN where available), `onednn` or `reference` (im2col/shifted GEMM over
        /// OpenBLAS).
        public var backend: String = "auto"
        /// `fp32` or `bf16` (mixed precision as PyTorch's CPU autocast; fp32 where the CPU has no native bf16).
        public var precision: String = "fp32"
        /// fp32 3 × 3 convolutions on oneDNN: `auto` (Winograd where it outruns the direct kernels) or `direct`.
        public var conv_algorithm: String = "auto"
        /// Folder under which `runs/<name>/` is created.
        public var runs_dir: String = "runs"
        /// Also write the final parameters as raw little-endian Float32 (`parameters.f32`, arena order).
        public var save_parameters: Bool = false
        /// Also write checkpoints/last.safetensors every this many optimiser steps (0: only at the end of each epoch).
        public var checkpoint_every_steps: Int = 0
        /// Progress line / per-step metrics (metrics.jsonl, kind "step") every this many steps.
        public var log_every_steps: Int = 50
        /// Resuming on another number of ranks: keep the `global` batch (per-rank batch × ranks of the checkpoint)
        /// or the `per_rank` batch (docs/distributed.md).
        public var resume_batch: String = "global"
        public init() {}
    }

    /// The simulated compute-in-memory chip (docs/cim.md): what rank 0 reports at the end of training. The chip
    /// itself is CIMSimulator's one configuration type, `CIMConfig`; its keys sit flat in the `cim:` section beside
    /// these run-level ones (RunConfig+CIM.swift maps them).
    public struct CIMRunConfig: Sendable, Equatable {
        /// `end` (after the last epoch) or `none`.
        public var report: String = "end"
        /// Also report every N epochs (0 = only at the end).
        public var every_epochs: Int = 0
        /// Run hardware-aware inference on the test set (otherwise the analytic cost only).
        public var accuracy: Bool = true
        /// CIM-aware training: binarized layers compute their training forward through this crossbar model
        /// (straight-through gradient over the ADC and the device effects; docs/cim.md §7).
        public var aware_training: Bool = false
        /// With `aware_training` and `variation` > 0: draw new conductance variation every step (else one chip).
        public var resample_variation: Bool = true
        /// The chip: device, node, subarray, ADC, non-idealities (`cim.device`, `cim.adc_bits`, …).
        public var chip = CIMConfig()
        public init() {}
    }
}
