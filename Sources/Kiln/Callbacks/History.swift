/// The loss and metrics of every epoch, returned by `fit` (Keras' `History`).
public final class History: Callback {
    /// Each quantity's value per epoch, by name (`loss`, `val_accuracy`, …).
    public private(set) var history: [String: [Float]] = [:]
    /// The epochs recorded (0-based).
    public private(set) var epochs: [Int] = []

    /// An empty history; `fit` makes one and returns it.
    public init() {}

    /// Records the epoch's logs.
    public func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws { record(epoch, logs: logs) }

    /// Records the epoch's logs.
    func record(_ epoch: Int, logs: [String: Float]) {
        epochs.append(epoch)
        for (name, value) in logs { history[name, default: []].append(value) }
    }
}
