import KilnGraph

/// A training step of your own, compiled to one native call like `fit`'s (Keras' overridden
/// `train_step`): the forward passes of one or several models, any loss, gradients with
/// respect to the weights you choose, one or several optimizers, and the values to report.
///
/// ```swift
/// let step = try TrainingStep { s in
///     let x = try s.input("x", shape: [784]), y = try s.input("y", shape: [])
///     let soft = try s.call(teacher, x, training: false)
///     let pred = try s.call(student, x)
///     let loss = try Loss.sparseCategoricalCrossentropy()(y, pred) + Loss.kullbackLeiblerDivergence(soft, pred)
///     try s.minimize(loss, over: student, with: Adam())
///     s.log("loss", loss)
/// }
/// let logs = try step.run(["x": images, "y": labels])
/// ```
///
/// The weights are the models' own: a step trains the same weights `predict` and `fit` use.
/// Logged values are computed before the step's updates, as Keras reports a step's loss.
public final class TrainingStep {
    /// The step's graph, to print or to inspect.
    public let graph: Graph
    /// The placeholders the step takes, by name, with their per-sample shapes.
    public let inputs: [(name: String, shape: [Int], dtype: DType)]
    /// The names of the logged values, in the order they were logged.
    public let logNames: [String]
    private let program: any Program
    private let store = VariableStore()

    /// Builds the step with `build` and compiles it on `backend`.
    ///
    /// - Throws: What `build` throws, or ``KilnError`` if the graph does not compile.
    public init(backend: Backend = .default, _ build: (StepBuilder) throws -> Void) throws {
        let builder = StepBuilder()
        try build(builder)
        try builder.context.advanceRandomState()
        graph = builder.graph
        inputs = builder.inputs
        logNames = builder.logs.map(\.name)
        for model in builder.models {
            for variable in model.variables where (try? store.buffer(variable.path)) == nil {
                try store.insert(variable.buffer, as: variable.path)
            }
        }
        for optimizer in builder.optimizers { optimizer.moveState(to: store) }
        var outputs: [String: Node] = [:]
        for (name, node) in builder.logs {
            guard outputs[name] == nil else { throw KilnError(.invalidArgument, "the training step logs \(String(reflecting: name)) twice") }
            guard node.shape.rank == 0 else {
                throw KilnError(.shapeMismatch, "the training step logs \(String(reflecting: name)) of shape \(node.shape); log scalars")
            }
            outputs[name] = node
        }
        program = try backend.compile(graph, outputs: outputs, variables: store)
    }

    /// Runs the step once on a batch: every input by name (`[batch] + shape`, all with the
    /// same batch size); returns the logged values, by name.
    ///
    /// - Throws: ``KilnError`` naming a missing, unknown or misshapen input.
    @discardableResult
    public func run(_ feeds: [String: Tensor]) throws -> [String: Float] {
        let names = inputs.map(\.name)
        if let missing = names.first(where: { feeds[$0] == nil }) {
            throw KilnError(.missingFeed, "the training step has no value for input \(String(reflecting: missing)); its inputs "
                            + "are: \(names.joined(separator: ", "))")
        }
        if let unknown = feeds.keys.sorted().first(where: { !names.contains($0) }) {
            throw KilnError(.invalidData, "the training step has no input \(String(reflecting: unknown)); its inputs are: "
                            + names.joined(separator: ", "))
        }
        var converted: [String: Tensor] = [:]
        for input in inputs {
            let feed = feeds[input.name]!
            guard feed.shape.count == input.shape.count + 1, Input.fits(Array(feed.shape.dropFirst()), input.shape) else {
                throw KilnError(.invalidData, "input \(String(reflecting: input.name)) of the training step takes samples of shape "
                                + "\(Layer.shapesText([input.shape])), got \(feed.shape)")
            }
            converted[input.name] = feed.dtype == input.dtype ? feed : Tensor(converting: feed, to: input.dtype)
        }
        let results = try program.run(feeds: converted)
        var logs: [String: Float] = [:]
        for (name, value) in results { logs[name] = value.scalars.first ?? 0 }
        return logs
    }

    /// Runs the step on every batch of `dataset` for `epochs` (each batch's `x` by input
    /// name, or one array for a step with one input); returns each epoch's mean of every
    /// logged value, weighted by batch size, and prints a progress bar unless `verbose` is 0.
    ///
    /// - Throws: ``KilnError`` naming the batch that does not fit the step, or what the dataset throws.
    @discardableResult
    public func fit(_ dataset: some Dataset, epochs: Int = 1, verbose: Int = 1) throws -> History {
        let history = History()
        for epoch in 0..<epochs {
            if verbose > 0 { print("Epoch \(epoch + 1)/\(epochs)") }
            var progress = ProgressBar(steps: dataset.count, verbose: verbose)
            let batches = Prefetcher(count: dataset.count) { index in
                try datasetBatch(index) {
                    try dataset.batch(at: index).x.arrays(for: self.inputs.map(\.name), of: "input", model: "training step")
                }
            }
            var totals: [String: Float] = [:], samples: Float = 0
            for batch in 0..<dataset.count {
                let arrays = try batches.take(batch)
                let count = Float(arrays.first?.shape.first ?? 0)
                let logs = try run(Dictionary(uniqueKeysWithValues: zip(inputs.map(\.name), arrays)))
                for (name, value) in logs { totals[name, default: 0] += value * count }
                samples += count
                let means = totals.mapValues { $0 / Swift.max(samples, 1) }
                if progress.due(batch + 1) { progress.draw(batch + 1, logs: means) }
            }
            try dataset.onEpochEnd()
            let means = totals.mapValues { $0 / Swift.max(samples, 1) }
            progress.finish(logs: means)
            history.record(epoch, logs: means)
        }
        return history
    }
}

/// What a ``TrainingStep`` is built with: its inputs, calls of models, gradients, optimizer
/// updates and logged values, all nodes of one graph.
public final class StepBuilder {
    /// The step's graph: any graph op (``KilnGraph``) can be used on its nodes.
    public let graph = Graph()
    let context: LayerContext
    private lazy var inference = LayerContext(sharing: context, training: false)
    private(set) var inputs: [(name: String, shape: [Int], dtype: DType)] = []
    private(set) var logs: [(name: String, node: Node)] = []
    private(set) var models: [Model] = []
    private(set) var optimizers: [Optimizer] = []

    init() { context = LayerContext(graph: graph, training: true) }

    /// A placeholder fed each run with a batch of samples of `shape`.
    ///
    /// - Throws: ``KilnError`` if the name is taken.
    public func input(_ name: String, shape: [Int], dtype: DType = .float32) throws -> Node {
        let node = try graph.placeholder(name, shape: Shape([.batch] + shape.map { .size($0) }), dtype: dtype)
        inputs.append((name, shape, dtype))
        return node
    }

    /// `model`'s first output on `inputs` (one per model input), in training behaviour
    /// (dropout active, batch statistics) unless `training` is false.
    ///
    /// - Throws: ``KilnError`` if the model is not built or the inputs do not fit it.
    public func call(_ model: Model, _ inputs: Node..., training: Bool = true) throws -> Node {
        try callAll(model, inputs, training: training)[0]
    }

    /// All of `model`'s outputs on `inputs`.
    ///
    /// - Throws: ``KilnError`` if the model is not built or the inputs do not fit it.
    public func callAll(_ model: Model, _ inputs: [Node], training: Bool = true) throws -> [Node] {
        try model.requireBuilt()
        guard inputs.count == model.inputs.count else {
            throw KilnError(.invalidArgument, "model \(String(reflecting: model.name)) has \(model.inputs.count) inputs, "
                            + "called on \(inputs.count)")
        }
        for (node, input) in zip(inputs, model.inputs) {
            let sizes = node.shape.dims.dropFirst().map { $0.staticSize ?? Input.none }
            guard node.shape.rank == input.shape.count + 1, node.shape.dims.first == .batch, Input.fits(sizes, input.shape) else {
                let given = "(" + node.shape.dims.map { $0.staticSize.map(String.init) ?? "None" }.joined(separator: ", ") + ")"
                throw KilnError(.shapeMismatch, "model \(String(reflecting: model.name)): input \(String(reflecting: input.name)) "
                                + "takes \(Layer.shapesText([input.shape])), called on \(given)")
            }
        }
        if !models.contains(where: { $0 === model }) { models.append(model) }
        return try model.forward(inputs, context: training ? context : inference)
    }

    /// The node reading `weight` (a layer's kernel, for a penalty of your own).
    public func variable(_ weight: LayerVariable) throws -> Node { try context.variable(weight) }

    /// The gradients of the scalar `loss` with respect to `variables` (zero for a weight the
    /// loss does not depend on).
    public func gradients(of loss: Node, wrt variables: [LayerVariable]) throws -> [Node] {
        try graph.gradients(of: loss, wrt: try variables.map { try context.variable($0) }, unconnected: .zero)
    }

    /// Updates `variables` with `optimizer` from `gradients` (one per variable), applying
    /// their constraints, as `fit` does.
    ///
    /// - Throws: ``KilnError`` if the counts differ, or another optimizer of the same kind
    ///   already updates weights in this step and this one already has state of its own.
    public func apply(_ optimizer: Optimizer, gradients: [Node], to variables: [LayerVariable]) throws {
        guard gradients.count == variables.count else {
            throw KilnError(.invalidArgument, "\(gradients.count) gradients for \(variables.count) weights")
        }
        if !optimizers.contains(where: { $0 === optimizer }) {
            if optimizers.contains(where: { $0.statePrefix == optimizer.statePrefix }) {
                // A second optimizer of one kind (a GAN's two Adams) files its state under `adam_1`, …,
                // which only an optimizer without state yet can do.
                guard optimizer.store == nil || optimizer.iterations == 0 else {
                    throw KilnError(.invalidArgument, "two optimizers called \(String(reflecting: optimizer.name)) update weights "
                                    + "in one training step, and the second already has state under that name; give the "
                                    + "step a new optimizer")
                }
                var index = 1
                while optimizers.contains(where: { $0.statePrefix == "\(optimizer.name)_\(index)" }) { index += 1 }
                optimizer.statePrefix = "\(optimizer.name)_\(index)"
            }
            optimizers.append(optimizer)
        }
        let nodes = try variables.map { try context.variable($0) }
        try optimizer.apply(to: graph, weights: zip(variables, nodes).map { ($0.path, $1) }, gradients: gradients,
                            constraints: variables.map(\.constraint))
    }

    /// Updates the trainable weights of `models` with `optimizer` to lower `loss`, adding
    /// their regularizers' penalties to it as `fit` does; returns the loss with the penalties.
    @discardableResult
    public func minimize(_ loss: Node, over models: Model..., with optimizer: Optimizer) throws -> Node {
        let variables = models.flatMap { $0.layers.flatMap(\.trainableVariables) }
        var total = loss
        for variable in variables {
            if let regularizer = variable.regularizer { total = try total + regularizer.penalty(context.variable(variable)) }
        }
        try apply(optimizer, gradients: try gradients(of: total, wrt: variables), to: variables)
        return total
    }

    /// Reports the scalar `value` under `name` in what ``TrainingStep/run(_:)`` returns.
    public func log(_ name: String, _ value: Node) {
        logs.append((name, value))
    }
}

extension Loss {
    /// The loss of a batch: the mean over the samples of each sample's loss (what Keras'
    /// `loss_fn(y_true, y_pred)` returns), as a scalar node.
    ///
    /// - Throws: ``KilnError`` if the shapes do not fit the loss.
    public func callAsFunction(_ yTrue: Node, _ yPred: Node) throws -> Node {
        try sum(values(yTrue: yTrue, yPred: yPred)) / yPred.graph.elementCount([.batch])
    }
}

extension Optimizer {
    /// Updates `variables` from `gradients` (one per variable) in the training step `step`
    /// is building, applying their constraints (``StepBuilder/apply(_:gradients:to:)``).
    ///
    /// - Throws: ``KilnError`` as ``StepBuilder/apply(_:gradients:to:)`` does.
    public func apply(gradients: [Node], to variables: [LayerVariable], in step: StepBuilder) throws {
        try step.apply(self, gradients: gradients, to: variables)
    }
}
