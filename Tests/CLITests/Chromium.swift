import Foundation
import XCTest

/// Headless Chromium for the report tests: found on PATH, or installed with apt-get (Debian's `chromium`) when
/// missing and the tests run as root; otherwise the test is skipped with the reason and the install command.
enum Chromium {
    static let installHint = "apt-get install chromium"

    /// The browser's path, installing it if needed. Throws `XCTSkip` when it cannot be had.
    static func locate() throws -> String {
        if let p = find() { return p }
        guard getuid() == 0, DistributedCLITests.which("apt-get") != nil else {
            throw XCTSkip("headless Chromium is not installed and this user cannot install it: the report browser test "
                          + "is skipped. Install it with: \(installHint)")
        }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("bwma-chromium-install.log")
        let (status, _) = run("/bin/sh", ["-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
                                               + "chromium fonts-dejavu-core > \(log.path) 2>&1"], timeout: 900)
        guard status == 0, let p = find() else {
            let tail = (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: " | ") ?? ""
            throw XCTSkip("headless Chromium could not be installed with apt-get (exit \(status): \(tail)): the report "
                          + "browser test is skipped. Install it with: \(installHint)")
        }
        return p
    }

    static func find() -> String? {
        ["chromium", "chromium-browser", "google-chrome"].lazy.compactMap(DistributedCLITests.which).first
    }

    /// The flags of every call: headless, no sandbox (root in a container), no GPU, a throw-away profile.
    static func flags(profile: URL) -> [String] {
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
         "--no-first-run", "--user-data-dir=\(profile.path)", "--force-device-scale-factor=1"]
    }

    /// Runs a command with stdout and stderr in temporary files; kills it after `timeout` seconds.
    @discardableResult
    static func run(_ exe: String, _ args: [String], timeout: TimeInterval = 120) -> (status: Int32, output: String) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bwma-chromium-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        guard let h = try? FileHandle(forWritingTo: out) else { return (-1, "cannot create \(out.path)") }
        p.standardOutput = h
        p.standardError = h
        do { try p.run() } catch { return (-1, "\(error)") }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.terminate(); p.waitUntilExit(); return (-2, "timed out after \(Int(timeout)) s") }
        try? h.close()
        return (p.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }
}
