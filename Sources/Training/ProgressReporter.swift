import Foundation
import TensorEngine

/// Rank 0's progress: on a terminal a one-line bar rewritten in place (`\r`) with epoch, step, loss, images/s and
/// the ETA; otherwise (a log file, a pipe) a plain line every `every` steps.
public struct ProgressReporter {
    public let totalSteps: Int
    public let epochs: Int
    public let every: Int
    public let isTerminal: Bool
    let write: (String) -> Void
    var lastDraw = -1.0
    var rateWindow: (steps: Int, images: Double, seconds: Double) = (0, 0, 0)

    /// - Parameters:
    ///   - totalSteps: optimiser steps of the whole run.
    ///   - isTerminal: draw the bar (default: whether stderr is a terminal).
    ///   - write: where text goes (default: stderr, no newline added).
    public init(totalSteps: Int, epochs: Int, every: Int, isTerminal: Bool = isatty(2) != 0,
                write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.totalSteps = totalSteps; self.epochs = epochs; self.every = Swift.max(every, 1)
        self.isTerminal = isTerminal; self.write = write
    }

    /// Reports global step `step` (1-based) of epoch `epoch` (1-based): `loss` the step's global batch loss,
    /// `images` the global batch size, `seconds` the step's wall time.
    public mutating func step(_ step: Int, epoch: Int, loss: Double, images: Int, seconds: Double) {
        rateWindow.steps += 1; rateWindow.images += Double(images); rateWindow.seconds += seconds
        let rate = rateWindow.images / Swift.max(rateWindow.seconds, 1e-9)
        let secondsPerStep = rateWindow.seconds / Double(rateWindow.steps)
        let eta = Double(totalSteps - step) * secondsPerStep
        if isTerminal {
            let now = ProcessClock.now()
            guard now - lastDraw >= 0.1 || step == totalSteps else { return }
            lastDraw = now
            let width = 24, filled = totalSteps > 0 ? width * step / totalSteps : width
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            write(String(format: "\r\u{1B}[2Kepoch %d/%d [%@] %d/%d  loss %.4f  %.0f img/s  ETA %@", epoch, epochs, bar,
                         step, totalSteps, loss, rate, Self.clock(eta)))
        } else if step % every == 0 || step == totalSteps {
            write(String(format: "step %d/%d  epoch %d/%d  loss %.4f  %.0f img/s  ETA %@\n", step, totalSteps, epoch,
                         epochs, loss, rate, Self.clock(eta)))
            rateWindow = (0, 0, 0)
        }
    }

    /// Ends the bar's line before other output (epoch lines).
    public mutating func finishLine() {
        if isTerminal && lastDraw >= 0 { write("\r\u{1B}[2K"); lastDraw = -1 }
    }

    /// "h:mm:ss" or "m:ss".
    static func clock(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "?" }
        let t = Int(s.rounded()), h = t / 3600, m = (t % 3600) / 60, sec = t % 60
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%d:%02d", m, sec)
    }
}
