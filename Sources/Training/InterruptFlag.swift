import Foundation

/// SIGINT/SIGTERM as a flag the training loop polls at step boundaries (the handler only stores to a
/// `sig_atomic_t`); a second signal while the first is pending ends the process at once (exit 130).
public enum InterruptFlag {
    nonisolated(unsafe) static let flag: UnsafeMutablePointer<sig_atomic_t> = {
        let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// Installs the handlers (idempotent).
    public static func install() {
        _ = flag
        for s in [SIGINT, SIGTERM] {
            signal(s) { _ in
                if InterruptFlag.flag.pointee != 0 { _exit(130) }
                InterruptFlag.flag.pointee = 1
            }
        }
    }

    /// Whether a signal arrived since `install()` (or `clear()`).
    public static var isSet: Bool { flag.pointee != 0 }

    public static func clear() { flag.pointee = 0 }
}
