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
    /// Before each training batch (0-based within the epoch); keep it cheap.
    func onBatchBegin(_ batch: Int, model: Model) throws
    /// After each training batch, with the epoch's mean loss and metrics so far (Keras'
    /// `on_train_batch_end` logs); by default calls ``onBatchEnd(_:model:)``.
    func onBatchEnd(_ batch: Int, logs: [String: Float], model: Model) throws
    /// After each training batch (0-based within the epoch); keep it cheap.
    func onBatchEnd(_ batch: Int, model: Model) throws
}

// Every method does nothing unless a callback implements it.
extension Callback {
    /// Does nothing.
    public func onTrainBegin(model: Model) throws {}
    /// Does nothing.
    public func onTrainEnd(model: Model) throws {}
    /// Does nothing.
    public func onEpochBegin(_ epoch: Int, model: Model) throws {}
    /// Does nothing.
    public func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws {}
    /// Does nothing.
    public func onBatchBegin(_ batch: Int, model: Model) throws {}
    /// Calls ``onBatchEnd(_:model:)``.
    public func onBatchEnd(_ batch: Int, logs: [String: Float], model: Model) throws { try onBatchEnd(batch, model: model) }
    /// Does nothing.
    public func onBatchEnd(_ batch: Int, model: Model) throws {}
}
