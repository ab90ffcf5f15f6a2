import Glibc

/// Keras-style progress output: `Epoch 3/20`, then
/// `25/25 ━━━━━━━━━━━━━━━━━━━━ 0s 1ms/step - accuracy: 0.9500 - loss: 0.1234`, redrawn live
/// on a terminal and printed once per epoch otherwise (verbose 1), or
/// `25/25 - 0s - 1ms/step - …` once per epoch (verbose 2).
struct ProgressBar {
    let steps: Int
    let verbose: Int
    let live: Bool
    private let start = ProgressBar.now()
    private var lastDraw = 0.0

    init(steps: Int, verbose: Int) {
        self.steps = steps
        self.verbose = verbose
        live = verbose == 1 && isatty(STDOUT_FILENO) != 0
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// Whether a live bar is due for a redraw after `step` steps (at most 20 times a second).
    mutating func due(_ step: Int) -> Bool {
        guard live else { return false }
        let now = Self.now()
        guard now - lastDraw >= 0.05 || step == steps else { return false }
        lastDraw = now
        return true
    }

    /// Redraws the live bar.
    func draw(_ step: Int, logs: [String: Float]) {
        write("\r" + line(step, logs: logs) + "\u{1B}[K")
    }

    /// Ends the epoch with the final line.
    func finish(logs: [String: Float]) {
        guard verbose > 0 else { return }
        if live { write("\r" + line(steps, logs: logs) + "\u{1B}[K\n") } else { write(line(steps, logs: logs) + "\n") }
    }

    private func line(_ step: Int, logs: [String: Float]) -> String {
        let elapsed = Self.now() - start
        let perStep = elapsed / Double(Swift.max(step, 1))
        let width = 20
        let filled = steps == 0 ? width : width * step / steps
        let bar = String(repeating: "━", count: filled) + String(repeating: "\u{1B}[2m━\u{1B}[0m", count: width - filled)
        let counter = "\(String(repeating: " ", count: String(steps).count - String(step).count))\(step)/\(steps)"
        let metrics = Self.format(logs)
        if verbose == 2 { return "\(counter) - \(Int(elapsed))s - \(Self.time(perStep))/step" + metrics }
        let plainBar = live ? bar : String(repeating: "━", count: filled)
        return "\(counter) \(plainBar) \(Int(elapsed))s \(Self.time(perStep))/step" + metrics
    }

    /// ` - name: value` for each entry, training ones first, each group sorted.
    static func format(_ logs: [String: Float]) -> String {
        let sorted = logs.sorted { ($0.key.hasPrefix("val_") ? 1 : 0, $0.key) < ($1.key.hasPrefix("val_") ? 1 : 0, $1.key) }
        return sorted.map { " - \($0.key): \(number($0.value))" }.joined()
    }

    /// Four decimals, or scientific notation for very small or large values (Keras).
    static func number(_ value: Float) -> String {
        let magnitude = Swift.abs(value)
        let format = magnitude != 0 && (magnitude < 1e-3 || magnitude >= 1e4) ? "%.4e" : "%.4f"
        return cFormat(format, Double(value))
    }

    static func time(_ seconds: Double) -> String {
        if seconds >= 1 { return "\(Int(seconds.rounded()))s" }
        if seconds >= 1e-3 { return "\(Int((seconds * 1e3).rounded()))ms" }
        return "\(Int((seconds * 1e6).rounded()))us"
    }

    private func write(_ text: String) {
        print(text, terminator: "")
        fflush(nil)
    }
}
