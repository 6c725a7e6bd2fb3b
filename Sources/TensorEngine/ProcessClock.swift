import Foundation

/// Monotonic wall clock for timing steps and communication.
public enum ProcessClock {
    /// Seconds since an arbitrary fixed point.
    public static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
