/// Stops training when a monitored quantity stops improving (Keras' `EarlyStopping`).
public final class EarlyStopping: Callback {
    /// The quantity watched, by its name in the logs (`val_loss`).
    public let monitor: String
    /// The smallest change that counts as an improvement.
    public let minDelta: Float
    /// How many epochs without improvement to wait before stopping.
    public let patience: Int
    /// Whether improving means going down or up (``MonitorMode/auto`` decides from the name).
    public let mode: MonitorMode
    /// A value the quantity must beat, or training stops after `patience` epochs.
    public let baseline: Float?
    /// Whether the weights of the best epoch are put back when training ends.
    public let restoreBestWeights: Bool
    /// The first epoch (0-based) that is watched; earlier ones are warm-up.
    public let startFromEpoch: Int
    /// Whether to print when training stops and when the best weights are restored.
    public let verbose: Int
    /// The epoch (0-based) training stopped at, if it stopped early.
    public private(set) var stoppedEpoch: Int?
    /// The best epoch seen (0-based).
    public private(set) var bestEpoch: Int?
    private var best: Float?
    private var wait = 0
    private var bestWeights: [Tensor]?

    /// A callback watching `monitor`, with Keras' defaults.
    public init(monitor: String = "val_loss", minDelta: Float = 0, patience: Int = 0, mode: MonitorMode = .auto,
                baseline: Float? = nil, restoreBestWeights: Bool = false, startFromEpoch: Int = 0, verbose: Int = 0) {
        self.verbose = verbose
        self.monitor = monitor
        self.minDelta = minDelta
        self.patience = patience
        self.mode = mode
        self.baseline = baseline
        self.restoreBestWeights = restoreBestWeights
        self.startFromEpoch = startFromEpoch
    }

    /// Forgets any previous training.
    public func onTrainBegin(model: Model) throws {
        wait = 0
        stoppedEpoch = nil
        bestEpoch = nil
        best = baseline
        bestWeights = nil
    }

    /// Records an improvement, or sets `model.stopTraining` once patience runs out.
    ///
    /// - Throws: ``KilnError`` if the logs have no `monitor`.
    public func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws {
        guard epoch >= startFromEpoch else { return }
        guard let value = monitored(monitor, in: logs, by: "EarlyStopping", skipping: "does not stop this epoch") else { return }
        wait += 1
        if mode.improves(value, on: best, delta: minDelta, monitor: monitor) {
            best = value
            bestEpoch = epoch
            if restoreBestWeights { bestWeights = model.getWeights() }
            if baseline == nil || mode.improves(value, on: baseline, delta: 0, monitor: monitor) { wait = 0 }
            return
        }
        if wait >= patience && epoch > 0 {
            stoppedEpoch = epoch
            model.stopTraining = true
        }
    }

    /// Puts back the best epoch's weights when ``restoreBestWeights`` is set.
    public func onTrainEnd(model: Model) throws {
        if verbose > 0, let stoppedEpoch { print("Epoch \(stoppedEpoch + 1): early stopping") }
        if restoreBestWeights, let bestWeights {
            if verbose > 0, let bestEpoch { print("Restoring model weights from the end of the best epoch: \(bestEpoch + 1).") }
            try model.setWeights(bestWeights)
        }
    }
}
