import KilnGraph

extension Model {
    /// Configures training: the optimizer, the loss and the metrics to report. The graphs
    /// are built and compiled at the first `fit`, `evaluate` or `predict`.
    ///
    /// The optimizer owns its state (iteration count, learning rate, slots), as in Keras: a
    /// new optimizer starts from nothing, the same optimizer compiled again carries on, and
    /// the optimizer it replaces keeps its state to itself.
    ///
    /// On a model with several outputs, `loss` is applied to each and the reported `loss` is
    /// their sum (each multiplied by its entry of `lossWeights`, in output order); `metrics`
    /// then gives one metric per output, as in Keras.
    ///
    /// - Parameter backend: Where programs run; `KILN_BACKEND` or the JIT by default.
    public func compile(optimizer: Optimizer = RMSprop(), loss: Loss, lossWeights: [Float]? = nil, metrics: [Metric] = [],
                        backend: Backend = .default) {
        setCompileOptions(CompileOptions(optimizer: optimizer, loss: .all(loss), lossWeights: lossWeights.map { .list($0) },
                                         metrics: .all(metrics), backend: backend))
    }

    /// Configures training of a model with several outputs: one loss per output and
    /// optionally one weight per loss and one list of metrics per output, in the order of
    /// ``outputs``. The reported `loss` is the weighted sum; each output's own loss and
    /// metrics are logged as `OUTPUT_loss` and `OUTPUT_METRIC` (Keras' keys).
    ///
    /// A count that does not match the outputs is reported by the first `fit` or `evaluate`.
    public func compile(optimizer: Optimizer = RMSprop(), loss: [Loss], lossWeights: [Float]? = nil, metrics: [[Metric]] = [],
                        backend: Backend = .default) {
        setCompileOptions(CompileOptions(optimizer: optimizer, loss: .list(loss), lossWeights: lossWeights.map { .list($0) },
                                         metrics: metrics.isEmpty ? .all([]) : .list(metrics), backend: backend))
    }

    /// Configures training of a model with several outputs by output name (``outputNames``):
    /// a loss for every output, optionally a weight for every loss, and metrics for any of
    /// the outputs.
    ///
    /// ```swift
    /// model.compile(optimizer: Adam(), loss: ["priority": .meanSquaredError, "department": .sparseCategoricalCrossentropy],
    ///               lossWeights: ["priority": 1, "department": 0.2], metrics: ["department": [.accuracy]])
    /// ```
    ///
    /// A missing or unknown name is reported by the first `fit` or `evaluate`.
    public func compile(optimizer: Optimizer = RMSprop(), loss: [String: Loss], lossWeights: [String: Float]? = nil,
                        metrics: [String: [Metric]] = [:], backend: Backend = .default) {
        setCompileOptions(CompileOptions(optimizer: optimizer, loss: .named(loss), lossWeights: lossWeights.map { .named($0) },
                                         metrics: .named(metrics), backend: backend))
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

    func setCompileOptions(_ options: CompileOptions) {
        building.withLock { _ in
            if let previous = compileOptions?.optimizer, previous !== options.optimizer, previous.store === store {
                previous.moveState(to: VariableStore())
            }
            options.optimizer.moveState(to: store)
            compileOptions = options
            if let compiled {
                compiled.train = [:]
                compiled.evaluate = [:]
            }
        }
    }

    /// The optimizer given to `compile`.
    public var optimizer: Optimizer? { compileOptions?.optimizer }
    /// The loss given to `compile` (the first output's, for a model given one per output).
    public var loss: Loss? { compileOptions?.loss.first }
    /// Each output's name, loss and loss weight as compiled, in output order (empty before
    /// `compile`, or when the compile settings do not fit the outputs).
    public var outputLosses: [(output: String, loss: Loss, weight: Float?)] {
        guard let options = compileOptions, let objectives = try? objectives(options) else { return [] }
        return objectives.map { ($0.name, $0.loss, $0.weight) }
    }
    /// The backend the model's programs run on.
    public var backend: Backend { compileOptions?.backend ?? .default }
}
