/// Whether a monitored quantity improves by going down (`loss`) or up (`accuracy`).
public enum MonitorMode: String, Sendable {
    /// Down, unless the name mentions accuracy, AUC, precision or recall.
    case auto
    /// Down: lower is better.
    case min
    /// Up: higher is better.
    case max

    /// Whether `value` beats `best` by more than `delta`.
    func improves(_ value: Float, on best: Float?, delta: Float, monitor: String) -> Bool {
        guard let best else { return value.isFinite || !value.isNaN }
        return resolved(monitor) == .max ? value - Swift.abs(delta) > best : value + Swift.abs(delta) < best
    }

    func resolved(_ monitor: String) -> MonitorMode {
        guard self == .auto else { return self }
        let increasing = ["acc", "auc", "precision", "recall"].contains { monitor.contains($0) }
        return increasing ? .max : .min
    }
}

/// Reads the monitored value from the logs; when it is missing, warns naming the ones there
/// are, as Keras does, and gives `nil` (the callback skips the epoch).
func monitored(_ monitor: String, in logs: [String: Float], by callback: String, skipping action: String) -> Float? {
    guard let value = logs[monitor] else {
        Kiln.warn("\(callback) monitors \(String(reflecting: monitor)), which is not in the logs, so it \(action); "
                  + "they have: \(logs.keys.sorted().joined(separator: ", "))")
        return nil
    }
    return value
}
