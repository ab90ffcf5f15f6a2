/// Multiplies the learning rate by `factor` when a monitored quantity stops improving
/// (Keras' `ReduceLROnPlateau`).
public final class ReduceLROnPlateau: Callback {
    /// The quantity watched, by its name in the logs (`val_loss`).
    public let monitor: String
    /// What the learning rate is multiplied by.
    public let factor: Float
    /// How many epochs without improvement to wait before reducing.
    public let patience: Int
    /// Whether improving means going down or up (``MonitorMode/auto`` decides from the name).
    public let mode: MonitorMode
    /// The smallest change that counts as an improvement.
    public let minDelta: Float
    /// How many epochs to wait after a reduction before watching again.
    public let cooldown: Int
    /// The rate is never reduced below this.
    public let minLearningRate: Float
    /// Whether to print each reduction.
    public let verbose: Int
    private var best: Float?
    private var wait = 0
    private var cooldownLeft = 0

    /// A callback watching `monitor`, with Keras' defaults.
    public init(monitor: String = "val_loss", factor: Float = 0.1, patience: Int = 10, mode: MonitorMode = .auto,
                minDelta: Float = 1e-4, cooldown: Int = 0, minLearningRate: Float = 0, verbose: Int = 0) {
        self.verbose = verbose
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.mode = mode
        self.minDelta = minDelta
        self.cooldown = cooldown
        self.minLearningRate = minLearningRate
    }

    /// Forgets any previous training.
    public func onTrainBegin(model: Model) throws {
        best = nil
        wait = 0
        cooldownLeft = 0
    }

    /// Records an improvement, or multiplies the optimizer's learning rate by ``factor``
    /// once patience runs out.
    ///
    public func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws {
        guard let value = monitored(monitor, in: logs, by: "ReduceLROnPlateau", skipping: "does not reduce the rate this epoch") else {
            return
        }
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
                if verbose > 0 { print("\nEpoch \(epoch + 1): ReduceLROnPlateau reducing learning rate to \(optimizer.learningRate).") }
                cooldownLeft = cooldown
                wait = 0
            }
        }
    }
}
