import Foundation

/// How one layer sits on the chip (docs/cim.md §Mapping): subarrays of R × C cells grouped into processing
/// elements (PEs) of p × p subarrays, PEs into tiles. Two schemes, as in DNN+NeuroSim (Peng et al., IEDM 2019):
///
/// - **kernel-split** (convolutions with a kernel > 1 and at least R/2 input channels): every kernel position gets
///   its own PE holding the Cin × Cout slice of the weights, so each subarray sums the Cin channels of one kernel
///   position and an input pixel is reused by the PEs instead of being copied into every im2col window. The layer
///   takes one tile of kh·kw PEs.
/// - **conventional** (the rest: thin first layers, 1 × 1 convolutions, fully connected layers): the unrolled
///   Cin·kh·kw × Cout matrix is cut into R × C blocks; tiles of 2 × 2 PEs.
///
/// A weight of w bits takes ⌈w / cell bits⌉ adjacent columns (one for a binary weight; the shift-add weighs the
/// columns of a multi-bit weight by 2ʲ). The reference column (Σ of the input bits, docs/method.md) uses a spare
/// column of the last column block when there is one; when Cout·columns per weight fills the blocks exactly, Σ of
/// the input bits is counted digitally (a popcount per row group) instead of taking a whole extra block.
public struct LayerMapping: Sendable, Equatable, Codable {
    public enum Scheme: String, Sendable, Codable { case kernelSplit = "kernel-split", conventional }

    public var scheme: Scheme
    /// PEs working on one input vector: kh·kw (kernel-split) or 1.
    public var kernelPositions: Int
    /// Subarrays along the rows (row groups) and along the columns, per kernel position.
    public var rowTiles: Int, columnTiles: Int
    /// Adjacent columns per weight (⌈weight bits / cell bits⌉).
    public var columnsPerWeight: Int
    /// Bits of the inputs fed bit-serially (the activation bits; 8 for a mapped FP32 layer).
    public var inputBits: Int
    /// True: the reference sum comes from a spare column; false: from a digital popcount.
    public var referenceColumn: Bool
    /// Tiles of one copy, copies (pipeline mode), allocated subarrays (tiles × subarrays per tile × copies).
    public var tiles: Int, copies: Int, subarrays: Int
    /// Weight cells / cells of one copy's allocated subarrays.
    public var utilization: Double

    /// Row groups summed per input vector: kernel positions × row blocks.
    public var rowGroups: Int { kernelPositions * rowTiles }
    /// Partial sums added into one output: every row group's, for every column of a multi-bit weight.
    public var partialSums: Int { rowGroups * columnsPerWeight }

    /// True when `columns` weight columns leave a spare column in their last block of `C` (the reference column
    /// goes there; otherwise the reference sum is a popcount).
    public static func hasSpareColumn(weightColumns columns: Int, blockColumns C: Int) -> Bool { columns % C != 0 }
    /// Weight columns, plus the reference column where there is one, in every row group.
    public var columnsRead: Int

    /// The rows of a layer as the subarrays see them: groups of original row indices (im2col order
    /// c·kh·kw + i·kw + j), each summed on one subarray — the Cin channels of one kernel position in chunks of R
    /// (kernel-split), or consecutive chunks of R rows.
    public static func rowGroups(inChannels: Int, kernel: Int, scheme: Scheme, rows R: Int) -> [[Int]] {
        let kk = kernel * kernel, total = inChannels * kk
        guard scheme == .kernelSplit else {
            return stride(from: 0, to: total, by: R).map { Array($0..<Swift.min($0 + R, total)) }
        }
        var groups: [[Int]] = []
        for position in 0..<kk {
            for c0 in stride(from: 0, to: inChannels, by: R) {
                groups.append((c0..<Swift.min(c0 + R, inChannels)).map { $0 * kk + position })
            }
        }
        return groups
    }

    /// The scheme of a layer of `kind` ("conv" or "fc") on subarrays of `rows` rows.
    public static func scheme(kind: String, kernel: Int, inChannels: Int, rows R: Int) -> Scheme {
        kind == "conv" && kernel > 1 && 2 * inChannels >= R ? .kernelSplit : .conventional
    }

    public static func scheme(_ s: LayerShape, rows R: Int) -> Scheme {
        scheme(kind: s.kind, kernel: s.kernel, inChannels: s.inChannels, rows: R)
    }
}

/// The chip's floorplan: every mapped layer's `LayerMapping`, the PE size shared by all tiles, and the copies of
/// pipeline mode.
public struct Floorplan: Sendable {
    /// Subarrays per PE side (p): the largest kernel-split slice, so every kernel-split layer fits one tile.
    public let peSize: Int
    /// PEs of a kernel-split tile (the largest kh·kw) and of a conventional tile (2 × 2).
    public let kernelTilePEs: Int
    public static let conventionalTilePEs = 4
    public private(set) var layers: [LayerMapping]

    /// One copy of every layer of `shapes` (all mapped); `inputBits[i]` is layer i's input precision and
    /// `weightColumns[i]` its columns per weight.
    public init(_ shapes: [LayerShape], inputBits: [Int], weightColumns: [Int], config c: CIMConfig) {
        let R = c.subarrayRows, C = c.subarrayColumns
        let schemes = shapes.map { LayerMapping.scheme($0, rows: R) }
        var p = 1, kernelPEs = 1
        for (i, s) in shapes.enumerated() where schemes[i] == .kernelSplit {
            let columns = s.outChannels * weightColumns[i]
            p = Swift.max(p, (s.inChannels + R - 1) / R, (columns + C - 1) / C)
            kernelPEs = Swift.max(kernelPEs, s.kernel * s.kernel)
        }
        peSize = p
        kernelTilePEs = kernelPEs
        layers = []
        layers = zip(shapes.indices, zip(shapes, schemes)).map { i, pair in
            let (s, scheme) = pair
            let cpw = weightColumns[i], columns = s.outChannels * cpw
            let positions = scheme == .kernelSplit ? s.kernel * s.kernel : 1
            let groupRows = scheme == .kernelSplit ? s.inChannels : s.rows
            let rt = (groupRows + R - 1) / R, ct = (columns + C - 1) / C
            let tiles = scheme == .kernelSplit ? 1 : ((rt + 2 * p - 1) / (2 * p)) * ((ct + 2 * p - 1) / (2 * p))
            let perTile = pesPerTile(scheme) * p * p
            let spare = LayerMapping.hasSpareColumn(weightColumns: columns, blockColumns: C)
            return LayerMapping(scheme: scheme, kernelPositions: positions, rowTiles: rt, columnTiles: ct,
                                columnsPerWeight: cpw, inputBits: inputBits[i], referenceColumn: spare,
                                tiles: tiles, copies: 1, subarrays: tiles * perTile,
                                utilization: Double(s.rows * columns) / Double(tiles * perTile * R * C),
                                columnsRead: columns + (spare ? 1 : 0))
        }
    }

    /// PEs of one tile of `scheme`.
    public func pesPerTile(_ scheme: LayerMapping.Scheme) -> Int {
        scheme == .kernelSplit ? kernelTilePEs : Self.conventionalTilePEs
    }

    /// Subarrays of one tile of `m`'s scheme.
    public func subarraysPerTile(_ m: LayerMapping) -> Int { pesPerTile(m.scheme) * peSize * peSize }

    /// Pipeline mode: a layer whose time per image `times[i]` (one copy) is at least 2ᵐ times below the slowest
    /// layer's gets 2ᵐ copies, at most `maxCopies` (copies split the layer's input vectors between them).
    public mutating func duplicate(times: [Double], maxCopies: Int) {
        let slowest = times.max() ?? 0
        for i in layers.indices {
            var d = 1
            while 2 * d <= maxCopies && Double(2 * d) * times[i] <= slowest * (1 + 1e-9) { d *= 2 }
            layers[i].copies = d
            layers[i].subarrays = layers[i].tiles * subarraysPerTile(layers[i]) * d
        }
    }

    /// Tiles on the chip (all copies).
    public var tiles: Int { layers.reduce(0) { $0 + $1.tiles * $1.copies } }
    public var subarrays: Int { layers.reduce(0) { $0 + $1.subarrays } }
}
