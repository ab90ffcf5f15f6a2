import KilnGraph

/// What `compile` was given.
struct CompileOptions {
    let optimizer: Optimizer
    let loss: Loss
    let metrics: [Metric]
    let backend: Backend
}

/// A model's programs on one backend, made when first needed and remade when what they
/// depend on changes (the target shape, which layers are trainable).
final class CompiledModel {
    let backend: Backend
    var predict: (any Program)?
    var train: TrainingProgram?
    var evaluate: TrainingProgram?

    init(backend: Backend) { self.backend = backend }
}

/// A training or evaluation step compiled with its metric accumulators.
struct TrainingProgram {
    let program: any Program
    /// The per-sample target shape the program was made for.
    let targetShape: [Int]
    /// The trainable weights the step differentiates (empty for evaluation).
    let trainable: [ObjectIdentifier]
    /// The loss accumulator first, then each metric.
    let accumulators: [MetricAccumulator]
}

extension Model {
    /// The programs on the compiled backend, or on `.default` before `compile`.
    func compiledModel() -> CompiledModel {
        let backend = compileOptions?.backend ?? .default
        if let compiled, compiled.backend == backend { return compiled }
        let made = CompiledModel(backend: backend)
        compiled = made
        return made
    }

    /// Puts every layer weight into the model's store, so programs update the layers' own buffers.
    func shareWeights() throws {
        for variable in variables {
            do {
                try store.insert(variable.buffer, as: variable.path)
            } catch {
                // A layer of the same name that has since been replaced: take the new buffer.
                store.remove(variable.path)
                compiled = nil
                try store.insert(variable.buffer, as: variable.path)
            }
        }
    }

    /// Placeholders for the model inputs.
    private func inputPlaceholders(_ graph: Graph) throws -> [Node] {
        try inputs.map { try graph.placeholder($0.name, shape: Shape([.batch] + $0.shape.map { .size($0) }), dtype: $0.dtype) }
    }

    /// The inference program: inputs to `y`.
    func predictProgram() throws -> any Program {
        try building.withLock { _ in try makePredictProgram() }
    }

    private func makePredictProgram() throws -> any Program {
        try requireBuilt()
        let compiled = compiledModel()
        if let program = compiled.predict { return program }
        try shareWeights()
        let (graph, outputs) = try predictGraph()
        let program = try compiled.backend.compile(graph, outputs: outputs, variables: store)
        compiled.predict = program
        return program
    }

    /// The inference graph: the model's inputs as placeholders, the output as `y`.
    func predictGraph() throws -> (graph: Graph, outputs: [String: Node]) {
        try requireBuilt()
        let graph = Graph()
        let context = LayerContext(graph: graph, training: false)
        return (graph, ["y": try forward(inputPlaceholders(graph), context: context)])
    }

    /// The training step (or, with `training` false, the evaluation step) for targets of
    /// `targetShape` per sample.
    func stepProgram(training: Bool, targetShape: [Int]) throws -> TrainingProgram {
        try building.withLock { _ in try makeStepProgram(training: training, targetShape: targetShape) }
    }

    private func makeStepProgram(training: Bool, targetShape: [Int]) throws -> TrainingProgram {
        try requireBuilt()
        guard let options = compileOptions else {
            throw KilnError(.notReady, "model \(String(reflecting: name)) must be compiled before training or evaluation: "
                            + "call compile(optimizer:loss:metrics:) first")
        }
        let compiled = compiledModel()
        let trainable = training ? layers.flatMap(\.trainableVariables) : []
        let identities = trainable.map(ObjectIdentifier.init)
        if let existing = training ? compiled.train : compiled.evaluate,
           existing.targetShape == targetShape, existing.trainable == identities {
            return existing
        }
        try shareWeights()
        let (graph, accumulators) = try stepGraph(options, training: training, trainable: trainable, targetShape: targetShape)
        let program = try compiled.backend.compile(graph, outputs: [:], variables: store)
        let made = TrainingProgram(program: program, targetShape: targetShape, trainable: identities,
                                   accumulators: accumulators)
        if training { compiled.train = made } else { compiled.evaluate = made }
        return made
    }
}

extension Model {
    /// A training step's graph (or, with `training` false, an evaluation step's): the forward
    /// pass, the loss, the metric accumulators and, when training, the gradients of
    /// `trainable` and the optimizer's update. Inputs are placeholders named after the
    /// model's inputs, then `target` and `sample_weight`; every result is an assign.
    func stepGraph(_ options: CompileOptions, training: Bool, trainable: [LayerVariable],
                   targetShape: [Int]) throws -> (Graph, [MetricAccumulator]) {
        let graph = Graph()
        let context = LayerContext(graph: graph, training: training)
        let yPred = try forward(inputPlaceholders(graph), context: context)
        let yTrue = try graph.placeholder(ModelStep.targetFeed, shape: Shape([.batch] + targetShape.map { .size($0) }))
        let sampleWeight = try graph.placeholder(ModelStep.sampleWeightFeed, shape: [.batch])
        var loss = try lossNode(options.loss, yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, targetShape: targetShape)
        // Regularization, as Keras adds it to the loss it reports and differentiates: each
        // trainable weight's penalty and the layers' added losses.
        for variable in layers.flatMap(\.trainableVariables) {
            if let regularizer = variable.regularizer { loss = try loss + regularizer.penalty(context.variable(variable)) }
        }
        for added in context.addedLosses { loss = try loss + added }
        let accumulators = try addAccumulators(options, loss: loss, yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight,
                                               prefix: training ? "metrics/train" : "metrics/test", targetShape: targetShape)
        if training {
            let nodes = try trainable.map { try context.variable($0) }
            if !nodes.isEmpty {
                let gradients = try graph.gradients(of: loss, wrt: nodes, unconnected: .zero)
                try options.optimizer.apply(to: graph, weights: zip(trainable, nodes).map { ($0.path, $1) },
                                            gradients: gradients, constraints: trainable.map(\.constraint))
            }
            try context.advanceRandomState()
        }
        return (graph, accumulators)
    }

    /// The batch's loss: the mean over the batch of each sample's loss times its weight.
    ///
    /// - Throws: ``KilnError`` naming the loss and the shapes if it cannot be built.
    private func lossNode(_ loss: Loss, yTrue: Node, yPred: Node, sampleWeight: Node, targetShape: [Int]) throws -> Node {
        do {
            return try sum(loss.values(yTrue: yTrue, yPred: yPred) * sampleWeight) / yPred.graph.elementCount([.batch])
        } catch let error as KilnError {
            throw KilnError(error.kind, "loss \(loss.name) on targets \(Layer.shapesText([targetShape])) and outputs "
                            + "\(Layer.shapesText([output?.shape ?? []])): \(error.message)")
        }
    }

    /// Adds the loss's accumulator and each metric's, under `prefix`, with the assigns adding
    /// the batch to them; returns them, the loss first.
    ///
    /// - Throws: ``KilnError`` naming the metric and the shapes if one cannot be built.
    private func addAccumulators(_ options: CompileOptions, loss: Node, yTrue: Node, yPred: Node, sampleWeight: Node,
                                 prefix: String, targetShape: [Int]) throws -> [MetricAccumulator] {
        let graph = loss.graph
        let lossNames = ["total", "count"].map { "\(prefix)/loss/\($0)" }
        for (variableName, increment) in zip(lossNames, [try loss * graph.elementCount([.batch]), try graph.elementCount([.batch])]) {
            let variable = try graph.variable(variableName, initialValue: Tensor(Float(0)))
            _ = try graph.assign(variable, variable + increment)
        }
        var accumulators = [MetricAccumulator(name: "loss", variables: lossNames) { $0[1] == 0 ? 0 : $0[0] / $0[1] }]
        let outputShape = output?.shape ?? []
        for metric in options.metrics {
            let kind = metric.resolved(loss: options.loss, targetShape: targetShape, outputShape: outputShape)
            do {
                try metric.check(kind, targetShape: targetShape, outputShape: outputShape)
                accumulators.append(try MetricAccumulator.build(kind, name: metric.name, prefix: prefix, yTrue: yTrue,
                                                                yPred: yPred, sampleWeight: sampleWeight))
            } catch let error as KilnError {
                throw KilnError(error.kind, "metric \(metric.name) on targets \(Layer.shapesText([targetShape])) and outputs "
                                + "\(Layer.shapesText([outputShape])): \(error.message)")
            }
        }
        return accumulators
    }
}

extension TrainingProgram {
    /// Sets every accumulator to zero.
    func resetAccumulators(_ store: VariableStore) throws {
        for accumulator in accumulators {
            for name in accumulator.variables { try store.setValue(Tensor(Float(0)), for: name) }
        }
    }

    /// The accumulated values, by name.
    func results(_ store: VariableStore) throws -> [String: Float] {
        var results: [String: Float] = [:]
        for accumulator in accumulators {
            let values = try accumulator.variables.map { try store.buffer($0).withFloats { $0[0] } }
            results[accumulator.name] = accumulator.value(values)
        }
        return results
    }
}
