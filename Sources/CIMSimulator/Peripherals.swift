import Foundation

/// The digital cells of the periphery, each with its energy (pJ) and area (µm²). Energies from Horowitz,
/// "Computing's energy problem", ISSCC 2014 (45 nm, 0.9 V), areas of 45 nm standard cells; both scaled to the node
/// by `TechnologyNode` (docs/cim.md §Periphery).
public struct DigitalLibrary: Sendable {
    public let node: TechnologyNode

    public init(node: TechnologyNode) { self.node = node }

    /// Adder energy per bit (Horowitz: 32-bit add 0.1 pJ).
    public var addEnergyPerBit: Double { 0.1 / 32 * node.energyScale }
    /// Register (flip-flop) write per bit: 2.6 fJ at 45 nm (a D flip-flop's clock and data load, ≈ 3 gate loads).
    public var registerEnergyPerBit: Double { 2.6e-3 * node.energyScale }
    /// n-bit multiply (Horowitz: 8-bit 0.2 pJ, 32-bit 3.1 pJ; ∝ n², our interpolation).
    public func multiplyEnergy(bits: Int) -> Double { 0.2 * Double(bits * bits) / 64 * node.energyScale }
    /// SRAM buffer access per bit (Horowitz: 64-bit read of an 8 KB SRAM 10 pJ).
    public var bufferEnergyPerBit: Double { 10.0 / 64 * node.energyScale }
    /// Wire energy per bit per mm: 0.2 pF/mm, half the bits toggling (C·V²/2).
    public var wireEnergyPerBitMm: Double { 0.2 * node.vdd * node.vdd / 2 }

    /// Full adder and flip-flop per bit, a row decoder with its word-line driver, a column-mux transmission gate,
    /// a column's precharge and write driver (µm², 45 nm cells).
    public var adderAreaPerBit: Double { 4 * node.areaScale }
    public var registerAreaPerBit: Double { 5 * node.areaScale }
    public var rowDriverArea: Double { 3.2 * node.areaScale }
    public var muxArea: Double { 0.6 * node.areaScale }
    public var columnDriverArea: Double { 2 * node.areaScale }
    /// An SRAM buffer bit with its periphery: the 0.092 µm² 22 nm 6T cell (Intel, IEDM 2012) at 50 % array
    /// efficiency.
    public var bufferAreaPerBit: Double { 0.184 * node.areaScale(from: .nm22) }
    /// Leakage of powered CMOS periphery per mm² (µW/mm²; an assumption for low-standby-power logic at 22 nm).
    public var leakagePerMm2: Double { 15 }
}

/// Shift-and-add behind one ADC: accumulates the b-bit conversions of the k bit-planes, least significant first,
/// into a (b + k)-bit register that shifts right after every add — so the adder is b + 1 bits wide, the register
/// b + k.
public struct ShiftAdd: Sendable {
    public let adderWidth: Int, width: Int
    public init(adcBits: Int, inputBits: Int) { adderWidth = adcBits + 1; width = adcBits + inputBits }
    public func area(_ lib: DigitalLibrary) -> Double {
        Double(adderWidth) * lib.adderAreaPerBit + Double(width) * lib.registerAreaPerBit
    }
    /// Energy of one accumulation (an add and a register shift).
    public func energy(_ lib: DigitalLibrary) -> Double {
        Double(adderWidth) * lib.addEnergyPerBit + Double(width) * lib.registerEnergyPerBit
    }
}

/// The digital work per output value and input vector after the shift-add: an adder tree over the layer's row
/// groups (and the 2ʲ-weighted columns of a multi-bit weight), then the layer's affine output stage
/// α·Δ·(·) + β·Δ·Σx + bias (one 16-bit multiply and one 32-bit add; batch norm folds into it).
public struct Accumulation: Sendable {
    /// Partial sums added per output: row groups × columns per weight.
    public let inputs: Int
    public let width: Int
    public init(adcBits: Int, inputBits: Int, partialSums: Int) {
        inputs = partialSums
        width = adcBits + inputBits + Int(Double(partialSums).log2Ceil)
    }
    public func energy(_ lib: DigitalLibrary) -> Double {
        Double(inputs - 1) * Double(width) * lib.addEnergyPerBit + lib.multiplyEnergy(bits: 16) + 32 * lib.addEnergyPerBit
    }
    /// Cycles: the tree's depth plus two for the output stage.
    public var cycles: Int { Int(Double(inputs).log2Ceil) + 2 }
}

/// A layer's activation buffer (SRAM): its tiles hold the layer's input feature map once (copies in pipeline mode
/// split it with the work); every activation is written once by its producer and read once by its consumer.
public struct Buffers: Sendable {
    public let bits: Int
    public func area(_ lib: DigitalLibrary) -> Double { Double(bits) * lib.bufferAreaPerBit }
}

/// The H-tree that links the tiles and the global buffer (docs/cim.md §Interconnect): `busWidth` wires at the
/// global pitch; an H-tree over n leaves on a chip of side S has ≈ S·√n of wire. A bit crossing it travels ≈ S;
/// partial sums inside a tile travel one PE side. One register stage per level, up and down.
public struct Interconnect: Sendable {
    /// Bus width in bits and the global wire pitch at 22 nm (µm), scaled with F (assumptions).
    public static let busWidth = 128
    public static let pitch22 = 0.8
    public let tiles: Int

    public init(tiles: Int) { self.tiles = tiles }

    /// Wire area (µm²) on a chip whose other blocks take `coreArea` µm².
    public func area(coreArea: Double, node: TechnologyNode) -> Double {
        let side = coreArea.squareRoot()
        return side * Double(tiles).squareRoot() * Double(Self.busWidth) * Self.pitch22 * Double(node.rawValue) / 22
    }

    /// Energy of `bits` travelling `distanceMm`.
    public func energy(bits: Double, distanceMm: Double, _ lib: DigitalLibrary) -> Double {
        bits * distanceMm * lib.wireEnergyPerBitMm
    }

    /// Register stages from one leaf to another.
    public var hops: Int { 2 * Int(Double(tiles).log2Ceil) }

    /// Bus cycles for `bits` bits.
    public func cycles(bits: Int) -> Int { (bits + Self.busWidth - 1) / Self.busWidth }
}

extension Double {
    /// ⌈log₂ x⌉ for x ≥ 1 (0 for x ≤ 1).
    var log2Ceil: Double { self <= 1 ? 0 : (Foundation.log2(self)).rounded(.up) }
}
