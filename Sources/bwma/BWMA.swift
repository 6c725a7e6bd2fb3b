import ArgumentParser

@main
struct BWMA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bwma",
        abstract: "Train binary-weight, multi-bit-activation CNNs for compute-in-memory accelerators.",
        discussion: """
            Run `bwma train --config configs/fmnist-resnet20-fp32.yaml` for the default job; `bwma bench step` times \
            training steps. Launch through launch/ scripts so OpenBLAS gets the right kernels and thread count.
            """,
        subcommands: [Train.self, Eval.self, Export.self, SweepCommand.self, Bench.self, CIM.self, DataCommand.self])
}
