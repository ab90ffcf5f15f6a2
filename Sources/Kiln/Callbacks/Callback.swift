/// Code run at points of `fit`: a protocol with every method optional (Keras' `Callback`).
///
/// `logs` hold the epoch's mean loss and metrics by name (`loss`, `accuracy`, and with
/// validation data `val_loss`, `val_accuracy`). Set `model.stopTraining = true` to stop
/// after the current epoch.
public protocol Callback: AnyObject {
    /// Before the first epoch.
    func onTrainBegin(model: Model) throws
    /// After the last epoch.
    func onTrainEnd(model: Model) throws
    /// Before each epoch (0-based).
    func onEpochBegin(_ epoch: Int, model: Model) throws
    /// After each epoch, with its logs.
    func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws
    /// After each training batch (0-based within the epoch); keep it cheap.
    func onBatchEnd(_ batch: Int, model: Model) throws
}

extension Callback {
    public func onTrainBegin(model: Model) throws {}
    public func onTrainEnd(model: Model) throws {}
    public func onEpochBegin(_ epoch: Int, model: Model) throws {}
    public func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws {}
    public func onBatchEnd(_ batch: Int, model: Model) throws {}
}

/// The loss and metrics of every epoch, returned by `fit` (Keras' `History`).
public final class History: Callback {
    /// Each quantity's value per epoch, by name (`loss`, `val_accuracy`, …).
    public private(set) var history: [String: [Float]] = [:]
    /// The epochs recorded (0-based).
    public private(set) var epochs: [Int] = []

    public init() {}

    public func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws {
        epochs.append(epoch)
        for (name, value) in logs { history[name, default: []].append(value) }
    }
}

/// Whether a monitored quantity improves by going down (`loss`) or up (`accuracy`).
public enum MonitorMode: String, Sendable {
    /// Down, unless the name mentions accuracy, AUC, precision or recall.
    case auto
    case min
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

/// Reads the monitored value from the logs, or says which names there are.
func monitored(_ monitor: String, in logs: [String: Float], by callback: String) throws -> Float {
    guard let value = logs[monitor] else {
        throw KilnError(.invalidArgument, "\(callback) monitors \(String(reflecting: monitor)), which is not in the logs; "
                        + "they have: \(logs.keys.sorted().joined(separator: ", "))")
    }
    return value
}
