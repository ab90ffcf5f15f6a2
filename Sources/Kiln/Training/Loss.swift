import KilnGraph

/// A loss function: what training minimises, with Keras' formulas (probabilities clipped to
/// `[1e-7, 1 - 1e-7]`, as Keras does) and reduction: the mean over the batch of each
/// sample's loss times its weight.
///
/// ```swift
/// model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: true))
/// ```
public struct Loss {
    /// Keras' name for the loss (`binary_crossentropy`).
    public let name: String
    /// Whether targets are class indices (one per sample) rather than values shaped like the output.
    public let sparseTargets: Bool
    /// The loss's configuration, to save with a model; `nil` for a custom loss.
    let config: JSONValue?
    /// One loss per sample: `[batch]` from targets and predictions.
    private let perSample: (_ yTrue: Node, _ yPred: Node) throws -> Node

    init(name: String, sparseTargets: Bool = false, config: JSONValue?,
         _ perSample: @escaping (_ yTrue: Node, _ yPred: Node) throws -> Node) {
        self.name = name
        self.sparseTargets = sparseTargets
        self.config = config
        self.perSample = perSample
    }

    /// A loss from graph ops: `body(yTrue, yPred)` returns one value per sample (`[batch]`),
    /// values whose mean over the non-batch axes is the sample's loss, or one scalar for the
    /// whole batch, which every sample then shares (as Keras treats such a loss).
    public static func custom(name: String, _ body: @escaping (_ yTrue: Node, _ yPred: Node) throws -> Node) -> Loss {
        Loss(name: name, config: nil, body)
    }

    /// The per-sample losses, `[batch]`.
    ///
    /// - Throws: ``KilnError`` if the loss gives values without a batch axis first.
    public func values(yTrue: Node, yPred: Node) throws -> Node {
        let values = try perSample(yTrue, yPred)
        if values.shape.rank == 0 { return try broadcast(values, to: [.batch]) }
        guard values.shape[0] == .batch else {
            throw KilnError(.shapeMismatch, "loss \(name) must give one value per sample, got \(values.shape)")
        }
        return values.shape.rank == 1 ? values : try mean(values, axes: Array(1..<values.shape.rank))
    }

    static let epsilon: Float = 1e-7

    /// `x` clipped to `[ε, 1 - ε]`.
    static func clip(_ x: Node) throws -> Node { try maximum(minimum(x, x.graph.constant(1 - epsilon)), x.graph.constant(epsilon)) }

    /// The mean over the last axis.
    static func meanLast(_ x: Node) throws -> Node { try mean(x, axes: [x.shape.rank - 1]) }

    // MARK: Regression

    /// `mean((yTrue - yPred)²)` over the last axis.
    public static var meanSquaredError: Loss {
        Loss(name: "mean_squared_error", config: .string("mean_squared_error")) { try meanLast(square($1 - $0)) }
    }

    /// `mean(|yTrue - yPred|)` over the last axis.
    public static var meanAbsoluteError: Loss {
        Loss(name: "mean_absolute_error", config: .string("mean_absolute_error")) { try meanLast(abs($1 - $0)) }
    }

    /// Quadratic for errors up to `delta`, linear beyond (Keras' `Huber`).
    public static func huber(delta: Float = 1) -> Loss {
        Loss(name: "huber", config: .object(["name": .string("huber"), "delta": .number(Double(delta))])) { yTrue, yPred in
            let error = try yPred - yTrue
            let size = try abs(error)
            let quadratic = try square(error) * 0.5
            let linear = try size * delta - 0.5 * delta * delta
            return try meanLast(select(lessEqual(size, yTrue.graph.constant(delta)), quadratic, linear))
        }
    }

    /// Huber with `delta` 1.
    public static var huber: Loss { huber() }

    // MARK: Classification

    /// Binary crossentropy of 0/1 targets and probabilities (or logits), mean over the last axis.
    public static func binaryCrossentropy(fromLogits: Bool = false, labelSmoothing: Float = 0) -> Loss {
        Loss(name: "binary_crossentropy",
             config: .object(["name": .string("binary_crossentropy"), "from_logits": .bool(fromLogits),
                              "label_smoothing": .number(Double(labelSmoothing))])) { yTrue, yPred in
            let y = labelSmoothing > 0 ? try yTrue * (1 - labelSmoothing) + 0.5 * labelSmoothing : yTrue
            if fromLogits {
                return try meanLast(y * softplus(neg(yPred)) + (1 - y) * softplus(yPred))
            }
            let p = try clip(yPred)
            return try meanLast(neg(y * log(p) + (1 - y) * log(1 - p)))
        }
    }

    /// Binary crossentropy of probabilities.
    public static var binaryCrossentropy: Loss { binaryCrossentropy() }

    /// Categorical crossentropy of one-hot targets and probabilities (or logits) over the last axis.
    public static func categoricalCrossentropy(fromLogits: Bool = false, labelSmoothing: Float = 0) -> Loss {
        Loss(name: "categorical_crossentropy",
             config: .object(["name": .string("categorical_crossentropy"), "from_logits": .bool(fromLogits),
                              "label_smoothing": .number(Double(labelSmoothing))])) { yTrue, yPred in
            let classes = Float(yPred.shape[yPred.shape.rank - 1].staticSize ?? 1)
            let y = labelSmoothing > 0 ? try yTrue * (1 - labelSmoothing) + labelSmoothing / classes : yTrue
            return try neg(sum(y * logProbabilities(yPred, fromLogits: fromLogits), axes: [yPred.shape.rank - 1]))
        }
    }

    /// Categorical crossentropy of probabilities.
    public static var categoricalCrossentropy: Loss { categoricalCrossentropy() }

    /// Categorical crossentropy of integer class targets (one per sample, given as float or
    /// int32 values in `0..<classes`, checked before training) and probabilities (or logits).
    public static func sparseCategoricalCrossentropy(fromLogits: Bool = false) -> Loss {
        Loss(name: "sparse_categorical_crossentropy", sparseTargets: true,
             config: .object(["name": .string("sparse_categorical_crossentropy"), "from_logits": .bool(fromLogits)])) { yTrue, yPred in
            let classes = yPred.shape[yPred.shape.rank - 1].staticSize ?? 1
            let picked = try oneHot(cast(yTrue, to: .int32), depth: classes)
            return try neg(sum(picked * logProbabilities(yPred, fromLogits: fromLogits), axes: [yPred.shape.rank - 1]))
        }
    }

    /// Sparse categorical crossentropy of probabilities.
    public static var sparseCategoricalCrossentropy: Loss { sparseCategoricalCrossentropy() }

    /// Kullback-Leibler divergence of the distribution `yPred` from `yTrue` over the last axis,
    /// `sum(yTrue · log(yTrue / yPred))`, both clipped to `[1e-7, 1]` (Keras' `KLDivergence`):
    /// the loss of knowledge distillation, with a teacher's probabilities as targets.
    public static var kullbackLeiblerDivergence: Loss {
        Loss(name: "kl_divergence", config: .string("kl_divergence")) { yTrue, yPred in
            func clipped(_ x: Node) throws -> Node { try maximum(minimum(x, x.graph.constant(Float(1))), x.graph.constant(epsilon)) }
            let p = try clipped(yTrue)
            return try sum(p * log(p / clipped(yPred)), axes: [yPred.shape.rank - 1])
        }
    }

    /// `log_softmax` of logits, or the log of probabilities renormalised and clipped (Keras).
    private static func logProbabilities(_ yPred: Node, fromLogits: Bool) throws -> Node {
        let last = yPred.shape.rank - 1
        if fromLogits { return try logSoftmax(yPred, axis: last) }
        return try log(clip(yPred / sum(yPred, axes: [last], keepDims: true)))
    }

    /// The loss Keras names `name`, with its defaults: `mean_squared_error` (`mse`),
    /// `mean_absolute_error` (`mae`), `huber`, `binary_crossentropy`, `categorical_crossentropy`,
    /// `sparse_categorical_crossentropy`, `kl_divergence` (`kld`).
    ///
    /// - Throws: ``KilnError`` naming an unknown loss and listing the known ones.
    public init(named name: String) throws {
        if let body = CustomLosses.registry[name] {
            self = .registered(name, body)
            return
        }
        try self.init(builtIn: name)
    }

    /// The built-in loss Keras names `name`.
    init(builtIn name: String) throws {
        switch name {
        case "mean_squared_error", "mse": self = .meanSquaredError
        case "mean_absolute_error", "mae": self = .meanAbsoluteError
        case "huber": self = .huber()
        case "binary_crossentropy": self = .binaryCrossentropy()
        case "categorical_crossentropy": self = .categoricalCrossentropy()
        case "sparse_categorical_crossentropy": self = .sparseCategoricalCrossentropy()
        case "kl_divergence", "kld": self = .kullbackLeiblerDivergence
        default:
            throw KilnError(.invalidArgument, "unknown loss \(String(reflecting: name)); the losses are: mean_squared_error (mse), "
                            + "mean_absolute_error (mae), huber, binary_crossentropy, categorical_crossentropy, "
                            + "sparse_categorical_crossentropy, kl_divergence (kld)" + CustomLosses.registry.listing
                            + "; register a custom one with Loss.register(name:)")
        }
    }

    /// The loss a saved configuration describes.
    init(config: JSONValue) throws {
        let name = config.string ?? config.object?["name"]?.string ?? ""
        let reader = ConfigReader(config.object ?? [:], context: "loss")
        switch name {
        case "mean_squared_error": self = .meanSquaredError
        case "mean_absolute_error": self = .meanAbsoluteError
        case "kl_divergence": self = .kullbackLeiblerDivergence
        case "huber": self = .huber(delta: try reader.float("delta"))
        case "binary_crossentropy":
            self = .binaryCrossentropy(fromLogits: try reader.bool("from_logits"), labelSmoothing: try reader.float("label_smoothing"))
        case "categorical_crossentropy":
            self = .categoricalCrossentropy(fromLogits: try reader.bool("from_logits"),
                                            labelSmoothing: try reader.float("label_smoothing"))
        case "sparse_categorical_crossentropy":
            self = .sparseCategoricalCrossentropy(fromLogits: try reader.bool("from_logits"))
        default:
            guard config.object?["registered"] == .bool(true) else { throw KilnError(.file, "unknown loss \(config)") }
            guard let body = CustomLosses.registry[name] else {
                throw KilnError(.file, "the model was compiled with the custom loss \(String(reflecting: name)), which is not "
                                + "registered: register it with Loss.register(name: \(String(reflecting: name))) before loading")
            }
            self = .registered(name, body)
        }
    }
}
