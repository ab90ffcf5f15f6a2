/// Stops training when a monitored quantity stops improving (Keras' `EarlyStopping`).
public final class EarlyStopping: Callback {
    public let monitor: String
    public let minDelta: Float
    public let patience: Int
    public let mode: MonitorMode
    public let baseline: Float?
    /// Whether the weights of the best epoch are put back when training ends.
    public let restoreBestWeights: Bool
    public let startFromEpoch: Int
    /// The epoch (0-based) training stopped at, if it stopped early.
    public private(set) var stoppedEpoch: Int?
    /// The best epoch seen (0-based).
    public private(set) var bestEpoch: Int?
    private var best: Float?
    private var wait = 0
    private var bestWeights: [Tensor]?

    public init(monitor: String = "val_loss", minDelta: Float = 0, patience: Int = 0, mode: MonitorMode = .auto,
                baseline: Float? = nil, restoreBestWeights: Bool = false, startFromEpoch: Int = 0) {
        self.monitor = monitor
        self.minDelta = minDelta
        self.patience = patience
        self.mode = mode
        self.baseline = baseline
        self.restoreBestWeights = restoreBestWeights
        self.startFromEpoch = startFromEpoch
    }

    public func onTrainBegin(model: Model) throws {
        wait = 0
        stoppedEpoch = nil
        bestEpoch = nil
        best = baseline
        bestWeights = nil
    }

    public func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws {
        guard epoch >= startFromEpoch else { return }
        let value = try monitored(monitor, in: logs, by: "EarlyStopping")
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

    public func onTrainEnd(model: Model) throws {
        if restoreBestWeights, let bestWeights { try model.setWeights(bestWeights) }
    }
}

/// Multiplies the learning rate by `factor` when a monitored quantity stops improving
/// (Keras' `ReduceLROnPlateau`).
public final class ReduceLROnPlateau: Callback {
    public let monitor: String
    public let factor: Float
    public let patience: Int
    public let mode: MonitorMode
    public let minDelta: Float
    public let cooldown: Int
    public let minLearningRate: Float
    private var best: Float?
    private var wait = 0
    private var cooldownLeft = 0

    public init(monitor: String = "val_loss", factor: Float = 0.1, patience: Int = 10, mode: MonitorMode = .auto,
                minDelta: Float = 1e-4, cooldown: Int = 0, minLearningRate: Float = 0) {
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.mode = mode
        self.minDelta = minDelta
        self.cooldown = cooldown
        self.minLearningRate = minLearningRate
    }

    public func onTrainBegin(model: Model) throws {
        best = nil
        wait = 0
        cooldownLeft = 0
    }

    public func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws {
        let value = try monitored(monitor, in: logs, by: "ReduceLROnPlateau")
        if cooldownLeft > 0 {
            cooldownLeft -= 1
            wait = 0
        }
        if mode.improves(value, on: best, delta: minDelta, monitor: monitor) {
            best = value
            wait = 0
        } else if cooldownLeft == 0 {
            wait += 1
            if wait >= patience, let optimizer = model.optimizer, optimizer.learningRate > minLearningRate {
                optimizer.learningRate = Swift.max(optimizer.learningRate * factor, minLearningRate)
                cooldownLeft = cooldown
                wait = 0
            }
        }
    }
}
