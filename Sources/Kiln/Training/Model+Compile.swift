import KilnGraph

extension Model {
    /// Configures training: the optimizer, the loss and the metrics to report. The graphs
    /// are built and compiled at the first `fit`, `evaluate` or `predict`.
    ///
    /// The optimizer owns its state (iteration count, learning rate, slots), as in Keras: a
    /// new optimizer starts from nothing, the same optimizer compiled again carries on, and
    /// the optimizer it replaces keeps its state to itself.
    ///
    /// - Parameter backend: Where programs run; `KILN_BACKEND` or the JIT by default.
    public func compile(optimizer: Optimizer = RMSprop(), loss: Loss, metrics: [Metric] = [], backend: Backend = .default) {
        building.withLock { _ in setCompileOptions(optimizer: optimizer, loss: loss, metrics: metrics, backend: backend) }
    }

    /// Compiles with Keras' string shortcuts:
    /// `compile(optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"])`.
    /// Each name stands for the object with Keras' defaults (``Optimizer/named(_:)``,
    /// ``Loss/init(named:)``, ``Metric/init(named:)``).
    ///
    /// - Throws: ``KilnError`` naming an unknown optimizer, loss or metric and listing the known ones.
    public func compile(optimizer: String = "rmsprop", loss: String, metrics: [String] = [], backend: Backend = .default) throws {
        compile(optimizer: try Optimizer.named(optimizer), loss: try Loss(named: loss), metrics: try metrics.map(Metric.init(named:)),
                backend: backend)
    }

    private func setCompileOptions(optimizer: Optimizer, loss: Loss, metrics: [Metric], backend: Backend) {
        if let previous = compileOptions?.optimizer, previous !== optimizer, previous.store === store {
            previous.moveState(to: VariableStore())
        }
        optimizer.moveState(to: store)
        compileOptions = CompileOptions(optimizer: optimizer, loss: loss, metrics: metrics, backend: backend)
        if let compiled {
            compiled.train = nil
            compiled.evaluate = nil
        }
    }

    /// The optimizer given to `compile`.
    public var optimizer: Optimizer? { compileOptions?.optimizer }
    /// The loss given to `compile`.
    public var loss: Loss? { compileOptions?.loss }
    /// The backend the model's programs run on.
    public var backend: Backend { compileOptions?.backend ?? .default }
}
