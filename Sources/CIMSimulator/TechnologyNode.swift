/// CMOS technology nodes with the supply voltage of the PTM high-performance model cards (docs/cim.md §Node).
///
/// Scaling from the 45 nm reference of the digital energy table (Horowitz, ISSCC 2014): area ∝ F², switching
/// energy ∝ C·V² with C ∝ F. Latencies are counted in clock cycles at a fixed clock, so the node does not change them.
public enum TechnologyNode: Int, Sendable, CaseIterable, Codable {
    case nm22 = 22, nm32 = 32, nm45 = 45

    /// Feature size F in metres.
    public var featureSize: Double { Double(rawValue) * 1e-9 }

    /// Supply voltage (V): PTM HP 45 nm 1.0 V, 32 nm 0.9 V, 22 nm 0.8 V.
    public var vdd: Double {
        switch self {
        case .nm22: return 0.8
        case .nm32: return 0.9
        case .nm45: return 1.0
        }
    }

    /// Reference node of the digital energies (Horowitz 2014: 45 nm, 0.9 V).
    static let referenceFeature = 45.0, referenceVdd = 0.9

    /// Multiplier for a switching energy quoted at 45 nm / 0.9 V.
    public var energyScale: Double {
        (Double(rawValue) / Self.referenceFeature) * (vdd * vdd) / (Self.referenceVdd * Self.referenceVdd)
    }

    /// Multiplier for an area quoted at 45 nm.
    public var areaScale: Double { (Double(rawValue) / Self.referenceFeature) * (Double(rawValue) / Self.referenceFeature) }

    /// Multiplier for a switching energy quoted at node `n`.
    public func energyScale(from n: TechnologyNode) -> Double { energyScale / n.energyScale }

    /// Multiplier for an area quoted at node `n`.
    public func areaScale(from n: TechnologyNode) -> Double { areaScale / n.areaScale }

    /// F in µm.
    public var featureMicrons: Double { Double(rawValue) * 1e-3 }
}
