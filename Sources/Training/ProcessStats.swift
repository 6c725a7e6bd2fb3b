import Foundation

/// Process-level measurements for reports and benchmarks.
public enum ProcessStats {
    /// Peak resident set size in MiB (getrusage; Linux reports kilobytes).
    public static var peakRSSMB: Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_maxrss) / 1024
    }
}
