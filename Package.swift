// swift-tools-version: 6.0
import PackageDescription

// Release builds drop bounds and overflow checks only in the kernel module (TensorEngine): every kernel works on raw
// pointers whose extents are checked once, at the layer boundary (`precondition`s stay active in -O, vanish in
// -Ounchecked). Every other module — layers, quantizers, the CIM simulator, distribution, and the modules that parse
// input (Data, Training, bwma) — keeps the checks with the default -O (docs/reliability.md; the measured cost is in
// docs/benchmarks.md).
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "BWMA",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bwma", targets: ["bwma"]),
        .library(name: "TensorEngine", targets: ["TensorEngine"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Optim", targets: ["Optim"]),
        .library(name: "RunConfiguration", targets: ["RunConfiguration"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Sweeps", targets: ["Sweeps"]),
        .library(name: "CIMSimulator", targets: ["CIMSimulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // Floor 1: system libraries.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        // oneDNN's C API (Debian ships no pkg-config file for it) and OpenMP's thread-count call.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // libjpeg-turbo's libjpeg API behind a C shim that turns its longjmp errors into return codes.
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        // The crossbar's bit-serial datapath as AND + popcount on AVX-512 VPOPCNTDQ (chosen at run time).
        .target(name: "CCrossbar"),
        // The engine's own C kernels, each chosen at run time: a bf16 convolution's weight gradient on AVX512-BF16
        // (oneDNN 2.6 has slower ones there), the integer forward's window sums, the soft staircase's backward.
        .target(name: "CConvKernels"),
        // Floor 2: tensors and kernels.
        .target(name: "TensorEngine", dependencies: ["COpenBLAS", "CDNNL", "CConvKernels"], swiftSettings: fast),
        // Floor 3: weight binarizers and activation quantizers.
        .target(name: "Quantization", dependencies: ["TensorEngine"]),
        // Floor 3: datasets.
        .target(name: "Data", dependencies: ["CZlib", "CJPEG", "TensorEngine"]),
        // Floor 4: layers and the model zoo.
        .target(name: "Models", dependencies: ["TensorEngine", "Quantization"]),
        // Floor 4: MPI communicator, sampler, gradient synchronisation.
        .target(name: "Distributed", dependencies: ["CMPI", "TensorEngine"]),
        // Floor 2: SVG charts for reports (no dependencies).
        .target(name: "Plots"),
        // Floor 3: the self-contained HTML reports of runs and sweeps, read from run folders (Plots, Yams).
        .target(name: "Reports", dependencies: ["Plots", .product(name: "Yams", package: "Yams")]),
        // Floor 4: the compute-in-memory simulator (mapping, cost model, hardware-aware inference, sweeps).
        .target(name: "CIMSimulator", dependencies: ["CCrossbar", "TensorEngine", "Quantization", "Models", "Plots"]),
        // Floor 3: optimisers and learning-rate schedules over a parameter store.
        .target(name: "Optim", dependencies: ["TensorEngine"]),
        // Floor 5: the run configuration (YAML, validation, the loaders and optimiser it describes) and run folders.
        .target(
            name: "RunConfiguration",
            dependencies: [
                "TensorEngine", "Quantization", "Data", "Distributed", "CIMSimulator", "Optim",
                .product(name: "Yams", package: "Yams"),
            ]),
        // Floor 6: the training loop, checkpoints, evaluation, exports, the run's CIM report.
        .target(
            name: "Training",
            dependencies: [
                "TensorEngine", "Quantization", "Data", "Models", "Distributed", "CIMSimulator", "Optim",
                "RunConfiguration", "Reports", .product(name: "Yams", package: "Yams"),
            ]),
        // Floor 7: sweeps of whole trainings (MPI groups) and their reports.
        .target(
            name: "Sweeps",
            dependencies: [
                "TensorEngine", "Data", "Models", "Distributed", "CIMSimulator", "RunConfiguration", "Training",
                "Reports", .product(name: "Yams", package: "Yams"),
            ]),
        // Floor 7: `bwma bench` — training-step, allreduce and data-pipeline benchmarks.
        .target(
            name: "Benchmarks",
            dependencies: ["TensorEngine", "Data", "Models", "Distributed", "Optim", "Training", "CIMSimulator"]),
        // Floor 8: the command line.
        .executableTarget(
            name: "bwma",
            dependencies: [
                "Training", "RunConfiguration", "Sweeps", "Benchmarks", "Optim", "Models", "Quantization", "Data", "Distributed", "TensorEngine", "CIMSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]),
        // Redraws docs/img from the sweep CSVs in docs/data with the current plot code.
        .executableTarget(name: "docplots", dependencies: ["CIMSimulator", "Plots"]),
        // Shared test helpers (finite-difference gradient checks).
        .target(name: "TestSupport", dependencies: ["TensorEngine"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorEngineTests", dependencies: ["CConvKernels", "TensorEngine", "TestSupport"]),
        .testTarget(name: "DataTests", dependencies: ["Data", "TensorEngine", "CZlib"], resources: [.copy("Fixtures")]),
        .testTarget(name: "QuantizationTests", dependencies: ["Quantization", "TensorEngine", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Quantization", "TensorEngine", "TestSupport"]),
        .testTarget(
            name: "TrainingTests",
            dependencies: [
                "Training", "RunConfiguration", "Optim", "Sweeps", "Models", "Data", "Distributed", "Quantization",
                "TensorEngine", "TestSupport", "Plots",
            ],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "TensorEngine"]),
        .testTarget(name: "PlotsTests", dependencies: ["Plots"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Plots"]),
        .testTarget(name: "CLITests", dependencies: ["bwma"]),
        .testTarget(
            name: "CIMSimulatorTests",
            dependencies: ["CCrossbar", "CIMSimulator", "Models", "Quantization", "TensorEngine"]),
    ]
)

// x86-64 builds target Haswell's instruction set (AVX2, FMA, BMI2 — the floor of every machine this runs on: Xeons and
// EPYCs with AVX-512, AVX2 at the least): the kernels' 16-lane SIMD then compiles to 256-bit instructions instead of
// SSE's 128 (W1A4 ResNet-20 step 1.11x faster, docs/benchmarks.md). Swift does not contract a·b + c into an FMA, so
// results are the same bits as before. oneDNN and OpenBLAS pick their own kernels at run time.
#if arch(x86_64)
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-target-cpu", "haswell"])]
}
#endif
