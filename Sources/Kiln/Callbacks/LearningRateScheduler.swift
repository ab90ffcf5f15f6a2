/// Sets the optimizer's learning rate before each epoch from a function of the epoch and the
/// current rate (Keras' `LearningRateScheduler`).
///
/// ```swift
/// let halve = LearningRateScheduler { epoch, rate in epoch < 10 ? rate : rate * 0.5 }
/// try model.fit(x, y, epochs: 20, callbacks: [halve])
/// ```
public final class LearningRateScheduler: Callback {
    /// The rate for an epoch (0-based), given the current rate.
    public let schedule: (Int, Float) -> Float
    /// Whether to print each change.
    public let verbose: Int

    /// A callback setting the rate from `schedule`.
    public init(verbose: Int = 0, _ schedule: @escaping (_ epoch: Int, _ rate: Float) -> Float) {
        self.schedule = schedule
        self.verbose = verbose
    }

    /// Sets the rate for `epoch`.
    ///
    /// - Throws: ``KilnError`` if the model is not compiled, its optimizer follows a schedule
    ///   of its own, or the function gives a rate that is not a finite number.
    public func onEpochBegin(_ epoch: Int, model: Model) throws {
        guard let optimizer = model.optimizer else {
            throw KilnError(.notReady, "LearningRateScheduler: model \(String(reflecting: model.name)) is not compiled")
        }
        guard optimizer.schedule == nil else {
            throw KilnError(.invalidArgument, "LearningRateScheduler: optimizer \(optimizer.name) follows a learning-rate schedule; "
                            + "compile it with a fixed rate to set the rate per epoch")
        }
        let rate = schedule(epoch, optimizer.learningRate)
        guard rate.isFinite else {
            throw KilnError(.invalidArgument, "LearningRateScheduler: the schedule gave \(rate) for epoch \(epoch), not a finite rate")
        }
        optimizer.learningRate = rate
        if verbose > 0 { print("\nEpoch \(epoch + 1): LearningRateScheduler setting learning rate to \(rate).") }
    }
}
