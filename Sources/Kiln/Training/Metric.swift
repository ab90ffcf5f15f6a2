import KilnGraph

/// A quantity reported during training and evaluation, accumulated over an epoch inside
/// the compiled step (Keras' metrics, weighted by sample weight).
public struct Metric: Hashable, Sendable {
    /// What the metric computes.
    public enum Kind: Hashable, Sendable {
        /// Resolved from the loss and shapes as Keras does: binary, sparse or categorical accuracy.
        case accuracy
        case binaryAccuracy(threshold: Float)
        case categoricalAccuracy
        case sparseCategoricalAccuracy
        case meanAbsoluteError
        case meanSquaredError
        case precision(threshold: Float)
        case recall(threshold: Float)
        /// A metric registered with ``Metric/register(name:states:update:result:)``, by name.
        case custom(String)
    }

    /// The name in logs and history (`accuracy`, `binary_accuracy`, `precision`).
    public let name: String
    /// What it computes.
    public let kind: Kind

    /// A metric of `kind` reported as `name`.
    public init(_ kind: Kind, name: String) {
        self.kind = kind
        self.name = name
    }

    /// Accuracy, resolved to ``binaryAccuracy``, ``sparseCategoricalAccuracy`` or
    /// ``categoricalAccuracy`` from the loss and shapes, as Keras resolves `"accuracy"`.
    public static let accuracy = Metric(.accuracy, name: "accuracy")
    /// The fraction of outputs on the right side of 0.5.
    public static let binaryAccuracy = Metric(.binaryAccuracy(threshold: 0.5), name: "binary_accuracy")
    /// The fraction of samples whose largest output is at the target's largest entry.
    public static let categoricalAccuracy = Metric(.categoricalAccuracy, name: "categorical_accuracy")
    /// The fraction of samples whose largest output is at the target class index.
    public static let sparseCategoricalAccuracy = Metric(.sparseCategoricalAccuracy, name: "sparse_categorical_accuracy")
    /// The mean absolute error.
    public static let meanAbsoluteError = Metric(.meanAbsoluteError, name: "mean_absolute_error")
    /// The mean squared error.
    public static let meanSquaredError = Metric(.meanSquaredError, name: "mean_squared_error")
    /// True positives over predicted positives (outputs above 0.5).
    public static let precision = Metric(.precision(threshold: 0.5), name: "precision")
    /// True positives over actual positives (outputs above 0.5).
    public static let recall = Metric(.recall(threshold: 0.5), name: "recall")

    /// The metric Keras names `name` (`accuracy`, `acc`, `mae`, `mse`, `precision`, …).
    ///
    /// - Throws: ``KilnError`` listing the names if `name` is none of them.
    public init(named name: String) throws {
        if CustomMetrics.registry[name] != nil {
            self.init(.custom(name), name: name)
            return
        }
        switch name {
        case "accuracy", "acc": self = .accuracy
        case "binary_accuracy": self = .binaryAccuracy
        case "categorical_accuracy": self = .categoricalAccuracy
        case "sparse_categorical_accuracy": self = .sparseCategoricalAccuracy
        case "mean_absolute_error": self = .meanAbsoluteError
        case "mae": self = Metric(.meanAbsoluteError, name: "mae")
        case "mean_squared_error": self = .meanSquaredError
        case "mse": self = Metric(.meanSquaredError, name: "mse")
        case "precision": self = .precision
        case "recall": self = .recall
        default:
            throw KilnError(.invalidArgument, "unknown metric \(String(reflecting: name)); the metrics are: accuracy, "
                            + "binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, mean_absolute_error (mae), "
                            + "mean_squared_error (mse), precision, recall"
                            + CustomMetrics.registry.listing
                            + "; register a custom one with Metric.register(name:states:update:result:)")
        }
    }

    /// What `accuracy` means for this loss and these shapes (Keras' `get_metric`).
    func resolved(loss: Loss, targetShape: [Int], outputShape: [Int]) -> Kind {
        guard kind == .accuracy else { return kind }
        if outputShape.last == 1 { return .binaryAccuracy(threshold: 0.5) }
        if loss.sparseTargets || targetShape.count < outputShape.count
            || (targetShape.last == 1 && (outputShape.last ?? 1) > 1) {
            return .sparseCategoricalAccuracy
        }
        return .categoricalAccuracy
    }
}

extension Metric {
    /// Throws if targets of `targetShape` cannot be compared with outputs of `outputShape`
    /// by `kind` (class indices given to precision or recall of a multi-class output).
    func check(_ kind: Kind, targetShape: [Int], outputShape: [Int]) throws {
        switch kind {
        case .precision, .recall:
            guard targetShape.count < outputShape.count, (outputShape.last ?? 1) > 1 else { return }
            throw KilnError(.invalidData, "precision and recall compare each output with its target, so the targets must "
                            + "be shaped like the output \(Layer.shapesText([outputShape])): one-hot (oneHot(y, classes: "
                            + "\(outputShape.last ?? 1))) or 0/1 per output, not class indices")
        case .accuracy, .binaryAccuracy, .categoricalAccuracy, .sparseCategoricalAccuracy, .meanAbsoluteError,
             .meanSquaredError, .custom:
            return
        }
    }
}

/// A metric's accumulator variables in one graph and the nodes updating them.
struct MetricAccumulator {
    /// The metric's name in logs.
    let name: String
    /// The variables, in the order ``value(_:)`` reads them.
    let variables: [String]
    /// The reported value from the variables' values.
    let value: ([Float]) -> Float

    /// Adds the accumulator variables of `metric` under `prefix` to the graph of `yPred`,
    /// and the assigns adding this batch's contribution.
    static func build(_ kind: Metric.Kind, name: String, prefix: String, yTrue: Node, yPred: Node,
                      sampleWeight: Node) throws -> MetricAccumulator {
        let graph = yPred.graph
        let last = yPred.shape.rank - 1
        func perSampleMean(_ values: Node) throws -> Node {
            values.shape.rank > 1 ? try mean(values, axes: Array(1..<values.shape.rank)) : values
        }
        func weighted(_ perSample: Node) throws -> Node { try perSample * sampleWeight }
        func accumulate(_ names: [String], _ increments: [Node]) throws {
            for (variableName, increment) in zip(names, increments) {
                let variable = try graph.variable(variableName, initialValue: Tensor(Float(0)))
                _ = try graph.assign(variable, variable + increment)
            }
        }
        let names = ["total", "count"].map { "\(prefix)/\(name)/\($0)" }
        let fraction: ([Float]) -> Float = { $0[1] == 0 ? 0 : $0[0] / $0[1] }
        func meanMetric(_ perSample: Node) throws -> MetricAccumulator {
            try accumulate(names, [sum(weighted(perSample)), sum(sampleWeight)])
            return MetricAccumulator(name: name, variables: names, value: fraction)
        }
        func hits(_ a: Node, _ b: Node) throws -> Node { try cast(equal(a, b), to: .float32) }
        switch kind {
        case .accuracy, .binaryAccuracy:
            let threshold: Float
            if case .binaryAccuracy(let t) = kind { threshold = t } else { threshold = 0.5 }
            let predicted = try cast(greater(yPred, graph.constant(threshold)), to: .float32)
            return try meanMetric(perSampleMean(hits(predicted, yTrue)))
        case .categoricalAccuracy:
            return try meanMetric(hits(argmax(yTrue, axis: last), argmax(yPred, axis: last)))
        case .sparseCategoricalAccuracy:
            // Class indices `[batch]` (or `[batch, 1]`), or one per step `[batch, steps]`.
            let target = yTrue.shape.rank == yPred.shape.rank ? try reshape(yTrue, to: Shape(Array(yPred.shape.dims.dropLast())))
                : yTrue
            return try meanMetric(perSampleMean(hits(cast(target, to: .int32), argmax(yPred, axis: last))))
        case .meanAbsoluteError:
            return try meanMetric(perSampleMean(abs(yPred - yTrue)))
        case .meanSquaredError:
            return try meanMetric(perSampleMean(square(yPred - yTrue)))
        case .precision(let threshold), .recall(let threshold):
            let predicted = try cast(greater(yPred, graph.constant(threshold)), to: .float32)
            let actual = try cast(notEqual(yTrue, graph.constant(0)), to: .float32)
            let weights = try reshape(sampleWeight, to: Shape([.batch] + Array(repeating: Dim.size(1), count: yPred.shape.rank - 1)))
            let truePositives = try sum(predicted * actual * weights)
            let other: Node
            if case .precision = kind {
                other = try sum(predicted * (1 - actual) * weights)
            } else {
                other = try sum((1 - predicted) * actual * weights)
            }
            let counts = ["true_positives", "false"].map { "\(prefix)/\(name)/\($0)" }
            try accumulate(counts, [truePositives, other])
            return MetricAccumulator(name: name, variables: counts) { $0[0] + $0[1] == 0 ? 0 : $0[0] / ($0[0] + $0[1]) }
        case .custom(let registered):
            guard let definition = CustomMetrics.registry[registered] else {
                throw KilnError(.unknownName, "metric \(String(reflecting: registered)) is not registered")
            }
            let increments = try definition.update(yTrue, yPred, sampleWeight)
            guard increments.count == definition.states, increments.allSatisfy({ $0.shape.rank == 0 && $0.dtype == .float32 }) else {
                throw KilnError(.shapeMismatch, "metric \(registered) must give \(definition.states) f32 scalars to add to its "
                                + "states, got \(increments.map { "\($0.type)" }.joined(separator: ", "))")
            }
            let states = (0..<definition.states).map { "\(prefix)/\(name)/state_\($0)" }
            try accumulate(states, increments)
            return MetricAccumulator(name: name, variables: states, value: definition.result)
        }
    }
}

/// Custom metrics registered by name.
enum CustomMetrics {
    struct Definition: Sendable {
        let states: Int
        let update: @Sendable (_ yTrue: Node, _ yPred: Node, _ sampleWeight: Node) throws -> [Node]
        let result: @Sendable (_ states: [Float]) -> Float
    }

    static let registry = Registry<Definition>()
}

extension Metric {
    /// A metric of your own, accumulated inside the compiled step as the built-in ones are
    /// (Keras' `Metric` with `add_weight` states, `update_state` and `result`): `states`
    /// scalar variables start at 0 each epoch; each batch adds the scalars `update` builds
    /// from the targets, the outputs and per-sample weights (`[batch]`, all 1: as in Keras,
    /// compiled metrics do not see sample or class weights); `result` turns
    /// the states into the reported value. Registered by `name`, so `compile(metrics:
    /// ["name"])` and loading a saved model find it.
    ///
    /// ```swift
    /// let meanSquares = try Metric.register(name: "mean_squares", states: 2,
    ///     update: { yTrue, yPred, weight in [try sum(square(yPred - yTrue)), try sum(weight)] },
    ///     result: { $0[1] == 0 ? 0 : $0[0] / $0[1] })
    /// ```
    ///
    /// - Throws: ``KilnError`` if `name` is a built-in metric's or `states` is not positive.
    @discardableResult
    public static func register(name: String, states: Int,
                                update: @escaping @Sendable (_ yTrue: Node, _ yPred: Node, _ sampleWeight: Node) throws -> [Node],
                                result: @escaping @Sendable (_ states: [Float]) -> Float) throws -> Metric {
        guard states > 0 else { throw KilnError(.invalidArgument, "metric \(name): states must be positive, got \(states)") }
        if CustomMetrics.registry[name] == nil, (try? Metric(named: name)) != nil {
            throw KilnError(.invalidArgument, "metric \(String(reflecting: name)) is built in; give a custom metric another name")
        }
        CustomMetrics.registry.register(name, CustomMetrics.Definition(states: states, update: update, result: result))
        return Metric(.custom(name), name: name)
    }
}
