import Foundation

/// The digital periphery of a CIM layer, each block with its area (µm²) and energy (pJ); energies from Horowitz,
/// "Computing's energy problem", ISSCC 2014 (45 nm, 0.9 V), scaled by `TechnologyNode.energyScale`; areas of
/// 45 nm standard cells (assumptions, docs/cim.md §Periphery).
public struct DigitalLibrary: Sendable {
    public let node: TechnologyNode

    public init(node: TechnologyNode) { self.node = node }

    /// Adder energy per bit (Horowitz: 32-bit add 0.1 pJ).
    public var addEnergyPerBit: Double { 0.1 / 32 * node.energyScale }
    /// n-bit multiply (Horowitz: 8-bit 0.2 pJ, 32-bit 3.1 pJ; ∝ n², our interpolation).
    public func multiplyEnergy(bits: Int) -> Double { 0.2 * Double(bits * bits) / 64 * node.energyScale }
    /// SRAM buffer access per bit (Horowitz: 64-bit read of an 8 KB SRAM 10 pJ).
    public var bufferEnergyPerBit: Double { 10.0 / 64 * node.energyScale }
    /// Wire energy per bit per mm: 0.2 pF/mm, half the bits toggling (C·V²/2).
    public var wireEnergyPerBitMm: Double { 0.2 * node.vdd * node.vdd / 2 }
    /// Word-line charge per cell on the row (fF at 45 nm, gate + wire; assumption).
    public var wordlineEnergyPerCell: Double { 0.1e-3 * node.energyScale }

    /// Full adder and flip-flop (µm², 45 nm cells), a word-line driver per row, an SRAM buffer bit with periphery.
    public var adderAreaPerBit: Double { 4 * node.areaScale }
    public var registerAreaPerBit: Double { 5 * node.areaScale }
    public var wordlineDriverArea: Double { 2 * node.areaScale }
    public var bufferAreaPerBit: Double {
        let f = Double(node.rawValue) * 1e-3
        return 160 * f * f * 1.5
    }
}

/// Shift-and-add behind one ADC: accumulates the b-bit conversions of the k bit-planes into a (b + k)-bit register.
public struct ShiftAdd: Sendable {
    public let width: Int
    public init(adcBits: Int, activationBits: Int) { width = adcBits + activationBits }
    public func area(_ lib: DigitalLibrary) -> Double { Double(width) * (lib.adderAreaPerBit + lib.registerAreaPerBit) }
    /// Energy of one accumulation.
    public func energy(_ lib: DigitalLibrary) -> Double { Double(width) * lib.addEnergyPerBit }
}

/// Adder tree over the row tiles of a column plus the digital α·(·) + β·Σx scaling of each output (16-bit).
public struct Accumulation: Sendable {
    public let width: Int, rowTiles: Int
    public init(adcBits: Int, activationBits: Int, rowTiles: Int) {
        self.rowTiles = rowTiles
        width = adcBits + activationBits + Int((Double(rowTiles)).log2Ceil)
    }
    /// Per output column: the tree's registers and adders plus one scaling unit.
    public func area(_ lib: DigitalLibrary) -> Double {
        Double(width) * (lib.adderAreaPerBit + lib.registerAreaPerBit) * Double(Swift.max(rowTiles - 1, 1))
            + 32 * lib.adderAreaPerBit
    }
    /// Per output value: rowTiles − 1 additions, two 16-bit multiplies and one 32-bit add.
    public func energy(_ lib: DigitalLibrary) -> Double {
        Double(rowTiles - 1) * Double(width) * lib.addEnergyPerBit + 2 * lib.multiplyEnergy(bits: 16)
            + 32 * lib.addEnergyPerBit
    }
    /// Cycles after the last bit-plane: the tree's depth plus the scaling.
    public var cycles: Int { Int(Double(rowTiles).log2Ceil) + 1 }
}

/// The layer's input and output buffers (double-buffered SRAM).
public struct Buffers: Sendable {
    public let inputBits: Int, outputBits: Int
    public func area(_ lib: DigitalLibrary) -> Double { 2 * Double(inputBits + outputBits) * lib.bufferAreaPerBit }
}

/// A bus from the global buffer to the layer's arrays: bits travel half the side of the layer's area.
public struct Interconnect: Sendable {
    /// Bus width in bits (assumption).
    public static let busWidth = 128
    public func energy(bits: Double, layerAreaUm2: Double, _ lib: DigitalLibrary) -> Double {
        let distanceMm = 0.5 * (layerAreaUm2 * 1e-6).squareRoot()
        return bits * distanceMm * lib.wireEnergyPerBitMm
    }
    /// Bus cycles to deliver `bits` (the average over the layer's transfers, not rounded per transfer).
    public func cycles(bits: Double) -> Double { bits / Double(Self.busWidth) }
}

extension Double {
    /// ⌈log₂ x⌉ for x ≥ 1 (0 for x ≤ 1).
    var log2Ceil: Double { self <= 1 ? 0 : (Foundation.log2(self)).rounded(.up) }
}
