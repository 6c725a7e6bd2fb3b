import Foundation

/// Process-level measurements for reports and benchmarks.
public enum ProcessStats {
    /// Peak resident set size in MiB (getrusage; Linux reports kilobytes).
    public static var peakRSSMB: Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_maxrss) / 1024
    }

    /// Monotonic seconds.
    public static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
