/// Colours: one per CIM device, the same in every plot and report (SRAM blue, RRAM red, FeFET green), and a
/// colour-blind-friendly cycle (Okabe–Ito) for everything else.
public enum Palette {
    /// The colour of a device (`sram`, `rram`, `fefet`, any case); nil for other names.
    public static func device(_ name: String) -> String? {
        switch name.lowercased() {
        case "sram": return "#0072B2"
        case "rram": return "#D55E00"
        case "fefet": return "#009E73"
        default: return nil
        }
    }

    /// The device's display name: SRAM, RRAM, FeFET (other names unchanged).
    public static func deviceName(_ name: String) -> String {
        switch name.lowercased() {
        case "sram": return "SRAM"
        case "rram": return "RRAM"
        case "fefet": return "FeFET"
        default: return name
        }
    }

    /// The cycle for series that are not devices (train, test, …): Okabe–Ito without the device colours first.
    public static let cycle = ["#000000", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442", "#0072B2", "#D55E00", "#009E73"]

    /// Light grey of grid lines; darker grey of the Pareto front and annotations.
    public static let grid = "#e6e6e6", annotation = "#555555"
}
