import Foundation
import Quantization

/// A sweep over hardware settings (docs/cim.md §Sweeps): points = devices × activation bits × ADC bits, in that
/// nesting order; point i is evaluated by rank i mod ranks, and rank 0 reassembles the rows by index, so the CSV does
/// not depend on the number of ranks.
public enum Sweep {
    public struct Point: Sendable, Equatable {
        public var device: DeviceKind
        public var activationBits: Int
        public var adcBits: Int
        public init(device: DeviceKind, activationBits: Int, adcBits: Int) {
            self.device = device; self.activationBits = activationBits; self.adcBits = adcBits
        }
    }

    public struct Row: Sendable, Equatable {
        public var point: Point
        public var energy_pj: Double, array_pj: Double, adc_pj: Double
        public var area_mm2: Double, latency_ns: Double, images_per_s: Double
        public var tops_per_w: Double, tops_per_mm2: Double
        /// Hardware-aware test accuracy (nil: analytic sweep).
        public var accuracy: Double?

        public init(point: Point, energy_pj: Double, array_pj: Double, adc_pj: Double, area_mm2: Double,
                    latency_ns: Double, images_per_s: Double, tops_per_w: Double, tops_per_mm2: Double,
                    accuracy: Double? = nil) {
            self.point = point; self.energy_pj = energy_pj; self.array_pj = array_pj; self.adc_pj = adc_pj
            self.area_mm2 = area_mm2; self.latency_ns = latency_ns; self.images_per_s = images_per_s
            self.tops_per_w = tops_per_w; self.tops_per_mm2 = tops_per_mm2; self.accuracy = accuracy
        }
    }

    public static func points(devices: [DeviceKind], activationBits: [Int], adcBits: [Int]) -> [Point] {
        devices.flatMap { d in activationBits.flatMap { k in adcBits.map { Point(device: d, activationBits: k, adcBits: $0) } } }
    }

    /// The indices rank `rank` of `ranks` evaluates (round robin).
    public static func indices(count: Int, rank: Int, ranks: Int) -> [Int] { Array(stride(from: rank, to: count, by: ranks)) }

    /// The config of one point: `base` with the point's device, activation bits and ADC bits.
    public static func config(_ p: Point, base: CIMConfig) -> CIMConfig {
        var c = base
        c.device = p.device; c.activationBits = p.activationBits; c.adcBits = p.adcBits
        return c
    }

    /// The analytic row of one point.
    public static func analytic(_ p: Point, shapes: [LayerShape], base: CIMConfig) -> Row {
        let r = CostModel.chip(shapes, config(p, base: base))
        return Row(point: p, energy_pj: r.energy_pj.total, array_pj: r.energy_pj.array, adc_pj: r.energy_pj.adc,
                   area_mm2: r.area_mm2.total, latency_ns: r.latency_ns, images_per_s: r.images_per_s,
                   tops_per_w: r.tops_per_w, tops_per_mm2: r.tops_per_mm2, accuracy: nil)
    }

    // MARK: - Distributed evaluation

    static let fields = 10

    static func encode(_ i: Int, _ r: Row) -> [Double] {
        [Double(i), r.energy_pj, r.array_pj, r.adc_pj, r.area_mm2, r.latency_ns, r.images_per_s, r.tops_per_w,
         r.tops_per_mm2, r.accuracy ?? .nan]
    }

    /// Evaluates this rank's share of `points` and gathers every row on rank 0 (nil on the other ranks).
    /// - Parameter gather: concatenates every rank's equally long array in rank order on rank 0 (MPI_Gather).
    public static func run(points: [Point], rank: Int, ranks: Int, gather: ([Double]) throws -> [Double],
                           evaluate: (Point) throws -> Row) throws -> [Row]? {
        let mine = indices(count: points.count, rank: rank, ranks: ranks)
        let perRank = (points.count + ranks - 1) / ranks
        var flat: [Double] = []
        for i in mine { flat += encode(i, try evaluate(points[i])) }
        // Pad to the same length on every rank (index −1 marks padding).
        while flat.count < perRank * fields { flat += [-1] + [Double](repeating: 0, count: fields - 1) }
        let all = try gather(flat)
        guard rank == 0 else { return nil }
        var rows = [Row?](repeating: nil, count: points.count)
        for o in stride(from: 0, to: all.count, by: fields) where all[o] >= 0 {
            let i = Int(all[o]), v = all[(o + 1)..<(o + fields)].map { $0 }
            rows[i] = Row(point: points[i], energy_pj: v[0], array_pj: v[1], adc_pj: v[2], area_mm2: v[3],
                          latency_ns: v[4], images_per_s: v[5], tops_per_w: v[6], tops_per_mm2: v[7],
                          accuracy: v[8].isNaN ? nil : v[8])
        }
        precondition(rows.allSatisfy { $0 != nil }, "a sweep point was not evaluated")
        return rows.map { $0! }
    }

    // MARK: - Output

    public static func csv(_ rows: [Row], base: CIMConfig) -> String {
        var s = "device,abits,adc_bits,adc,node_nm,energy_pj_per_image,array_pj,adc_pj,area_mm2,latency_ns,images_per_s,"
            + "tops_per_w,tops_per_mm2,hw_accuracy\n"
        func f(_ v: Double) -> String { String(format: "%.6g", v) }
        for r in rows {
            s += [r.point.device.rawValue, "\(r.point.activationBits)", "\(r.point.adcBits)", base.adc.rawValue,
                  "\(base.node.rawValue)", f(r.energy_pj), f(r.array_pj), f(r.adc_pj), f(r.area_mm2), f(r.latency_ns),
                  f(r.images_per_s), f(r.tops_per_w), f(r.tops_per_mm2), r.accuracy.map(f) ?? ""]
                .joined(separator: ",") + "\n"
        }
        return s
    }

    // MARK: - Knee

    public struct Knee: Sendable, Equatable {
        public var activationBits: Int
        /// `accuracy` (measured) or `fidelity-proxy` (analytic sweep: no accuracy available).
        public var basis: String
        public var explanation: String
    }

    /// Tolerance of the accuracy criterion: within this of the best accuracy (0.5 percentage points).
    public static let accuracyTolerance = 0.005

    /// The activation width at the knee (docs/cim.md §Knee):
    /// - with accuracies: the smallest k whose best hardware-aware accuracy is within 0.5 points of the best of all
    ///   points (energy grows with k, so it is also the cheapest such width);
    /// - without: Kneedle (largest gap between the normalised fidelity 1 − D(k) of the BWMA quantizer on a
    ///   batch-normalised ReLU input and the normalised mean energy) — a proxy, reported as such.
    public static func knee(_ rows: [Row]) -> Knee? {
        let ks = Array(Set(rows.map(\.point.activationBits))).sorted()
        guard !ks.isEmpty else { return nil }
        let measured = rows.filter { $0.accuracy != nil }
        if !measured.isEmpty {
            let best = measured.map { $0.accuracy! }.max()!
            for k in ks {
                let a = measured.filter { $0.point.activationBits == k }.compactMap(\.accuracy).max() ?? -1
                if a >= best - accuracyTolerance {
                    return Knee(activationBits: k, basis: "accuracy", explanation: String(
                        format: "smallest activation width within %.1f points of the best hardware-aware accuracy "
                            + "(%.2f %% vs %.2f %%)",
                        100 * accuracyTolerance, 100 * a, 100 * best))
                }
            }
        }
        guard ks.count >= 3 else {
            return Knee(activationBits: ks.last!, basis: "fidelity-proxy",
                        explanation: "fewer than 3 activation widths: no knee can be located; largest width reported")
        }
        let energy = ks.map { k in
            let e = rows.filter { $0.point.activationBits == k }.map(\.energy_pj)
            return e.reduce(0, +) / Double(e.count)
        }
        let fidelity = ks.map { 1 - quantizationDistortion(bits: $0) }
        func norm(_ v: [Double]) -> [Double] {
            let lo = v.min()!, hi = v.max()!
            return v.map { hi > lo ? ($0 - lo) / (hi - lo) : 0 }
        }
        let x = norm(energy), y = norm(fidelity)
        let i = (0..<ks.count).max { y[$0] - x[$0] < y[$1] - x[$1] }!
        return Knee(activationBits: ks[i], basis: "fidelity-proxy", explanation: String(
            format: "no accuracy in this sweep: Kneedle knee of the quantizer's fidelity (1 - relative MSE = %.4f) "
                + "against energy; run the sweep with --checkpoint for the accuracy criterion",
            fidelity[i]))
    }

    /// D(k) = E[(q(x) − x)²] / E[x²] for x = max(z, 0), z ~ N(0, 1), quantized by the BWMA staircase with range
    /// κ_k·rms(x) (docs/method.md §2). Simpson's rule on z ∈ [0, 12].
    public static func quantizationDistortion(bits: Int) -> Double {
        let kappa = Double(BWMAActivationQuantizer.kappa[bits - 1])
        let rms = 0.5.squareRoot(), c = kappa * rms, delta = c / Double((1 << bits) - 1)
        let n = 24_000, h = 12.0 / Double(n)
        var s = 0.0
        for i in 0...n {
            let z = Double(i) * h
            let q = delta * (min(z, c) / delta).rounded(.toNearestOrEven)
            let f = (q - z) * (q - z) * exp(-z * z / 2) / (2 * Double.pi).squareRoot()
            s += f * (i == 0 || i == n ? 1 : (i % 2 == 1 ? 4 : 2))
        }
        return s * h / 3 / 0.5
    }

    // MARK: - Parsing

    /// "1-8", "4" or "1,2,4": sorted, unique.
    public static func parseInts(_ s: String, flag: String, range: ClosedRange<Int>) throws -> [Int] {
        var out = Set<Int>()
        for part in s.split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            let ends = t.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(ends.count), ends.allSatisfy({ $0 != nil }) else {
                throw CIMError.invalid(key: flag, value: "'\(s)'", expected: "integers or ranges like 1-8 or 3,4,5")
            }
            let lo = ends[0]!, hi = ends.last!!
            guard lo <= hi, range.contains(lo), range.contains(hi) else {
                throw CIMError.invalid(key: flag, value: "'\(s)'", expected: "values in \(range.lowerBound)...\(range.upperBound)")
            }
            for v in lo...hi { out.insert(v) }
        }
        guard !out.isEmpty else { throw CIMError.invalid(key: flag, value: "'\(s)'", expected: "at least one value") }
        return out.sorted()
    }

    /// "sram,rram,fefet" in the given order.
    public static func parseDevices(_ s: String, flag: String) throws -> [DeviceKind] {
        var out: [DeviceKind] = []
        for part in s.split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces).lowercased()
            guard let d = DeviceKind(rawValue: t) else {
                throw CIMError.invalid(key: flag, value: "'\(t)'", expected: "a list of sram, rram, fefet")
            }
            if !out.contains(d) { out.append(d) }
        }
        guard !out.isEmpty else { throw CIMError.invalid(key: flag, value: "'\(s)'", expected: "a list of sram, rram, fefet") }
        return out
    }
}
