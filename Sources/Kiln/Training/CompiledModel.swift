import KilnGraph

/// What `compile` was given.
struct CompileOptions {
    let optimizer: Optimizer
    let loss: PerOutput<Loss>
    let lossWeights: PerOutput<Float>?
    let metrics: PerOutput<[Metric]>
    let backend: Backend
}

/// A model's programs on one backend, made when first needed and remade when what they
/// depend on changes (the target shape, which layers are trainable).
final class CompiledModel {
    let backend: Backend
    /// The inference programs, by the inputs' sample shapes (one unless an input has a
    /// ``Input/none`` size, which each size the data brings makes concrete).
    var predict: [[[Int]]: any Program] = [:]
    var train: [StepShapes: TrainingProgram] = [:]
    var evaluate: [StepShapes: TrainingProgram] = [:]

    init(backend: Backend) { self.backend = backend }
}

/// The sample shapes a training or evaluation program is made for: each input's and each
/// output's targets'.
struct StepShapes: Hashable {
    let inputs: [[Int]]
    let targets: [[Int]]
}

/// A training or evaluation step compiled with its metric accumulators.
struct TrainingProgram {
    let program: any Program
    /// The per-sample target shape of each output the program was made for.
    let targetShapes: [[Int]]
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

    /// Placeholders for the model inputs, of `shapes` per sample (the inputs' own shapes
    /// when `nil`).
    ///
    /// - Throws: ``KilnError`` if an input has a ``Input/none`` size and no shape is given.
    private func inputPlaceholders(_ graph: Graph, shapes: [[Int]]?) throws -> [Node] {
        let shapes = shapes ?? inputs.map(\.shape)
        return try zip(inputs, shapes).map { input, shape in
            guard !shape.contains(Input.none) else {
                throw KilnError(.notReady, "model \(String(reflecting: name)): input \(String(reflecting: input.name)) has a None "
                                + "size \(Layer.shapesText([input.shape])); its programs are made for the sizes of the data")
            }
            return try graph.placeholder(input.name, shape: Shape([.batch] + shape.map { .size($0) }), dtype: input.dtype)
        }
    }

    /// The inference program for inputs of `shapes` per sample: inputs to `y`.
    func predictProgram(inputShapes shapes: [[Int]]) throws -> any Program {
        try building.withLock { _ in try makePredictProgram(shapes) }
    }

    private func makePredictProgram(_ shapes: [[Int]]) throws -> any Program {
        try requireBuilt()
        let compiled = compiledModel()
        if let program = compiled.predict[shapes] { return program }
        try shareWeights()
        let (graph, outputs) = try predictGraph(inputShapes: shapes)
        let program = try compiled.backend.compile(graph, outputs: outputs, variables: store)
        compiled.predict[shapes] = program
        return program
    }

    /// The names of the inference program's outputs, in the order of ``outputs``: `y` for a
    /// model with one output, the ``outputNames`` for a model with several.
    var predictOutputNames: [String] { outputs.count == 1 ? ["y"] : outputNames }

    /// The inference graph: the model's inputs as placeholders (of `inputShapes` per
    /// sample, or their own), the outputs named by ``predictOutputNames``.
    func predictGraph(inputShapes: [[Int]]? = nil) throws -> (graph: Graph, outputs: [String: Node]) {
        try requireBuilt()
        let graph = Graph()
        let context = LayerContext(graph: graph, training: false)
        let nodes = try forward(inputPlaceholders(graph, shapes: inputShapes), context: context)
        return (graph, Dictionary(uniqueKeysWithValues: zip(predictOutputNames, nodes)))
    }

    /// The training step (or, with `training` false, the evaluation step) for inputs and
    /// targets of `shapes` per sample (targets one per output).
    func stepProgram(training: Bool, shapes: StepShapes) throws -> TrainingProgram {
        try building.withLock { _ in try makeStepProgram(training: training, shapes: shapes) }
    }

    private func makeStepProgram(training: Bool, shapes: StepShapes) throws -> TrainingProgram {
        try requireBuilt()
        guard let options = compileOptions else {
            throw KilnError(.notReady, "model \(String(reflecting: name)) must be compiled before training or evaluation: "
                            + "call compile(optimizer:loss:metrics:) first")
        }
        let compiled = compiledModel()
        let trainable = training ? layers.flatMap(\.trainableVariables) : []
        let identities = trainable.map(ObjectIdentifier.init)
        if let existing = training ? compiled.train[shapes] : compiled.evaluate[shapes], existing.trainable == identities {
            return existing
        }
        try shareWeights()
        let (graph, accumulators) = try stepGraph(options, training: training, trainable: trainable, inputShapes: shapes.inputs,
                                                  targetShapes: shapes.targets)
        let program = try compiled.backend.compile(graph, outputs: [:], variables: store)
        let made = TrainingProgram(program: program, targetShapes: shapes.targets, trainable: identities,
                                   accumulators: accumulators)
        if training { compiled.train[shapes] = made } else { compiled.evaluate[shapes] = made }
        return made
    }
}

extension Model {
    /// The names of a training or evaluation step's target and sample-weight placeholders
    /// for each output: ``ModelStep/targetFeed`` and ``ModelStep/sampleWeightFeed`` for a
    /// model with one output, those followed by `/OUTPUT` for a model with several.
    var feedNames: [(target: String, sampleWeight: String)] {
        let names = objectiveNames
        guard names.count > 1 else { return [(ModelStep.targetFeed, ModelStep.sampleWeightFeed)] }
        return names.map { ("\(ModelStep.targetFeed)/\($0)", "\(ModelStep.sampleWeightFeed)/\($0)") }
    }

    /// A training step's graph (or, with `training` false, an evaluation step's): the forward
    /// pass, the loss, the metric accumulators and, when training, the gradients of
    /// `trainable` and the optimizer's update. Inputs are placeholders named after the
    /// model's inputs, then the targets and sample weights of each output (``feedNames``);
    /// every result is an assign.
    func stepGraph(_ options: CompileOptions, training: Bool, trainable: [LayerVariable], inputShapes: [[Int]]? = nil,
                   targetShapes: [[Int]]) throws -> (Graph, [MetricAccumulator]) {
        let objectives = try objectives(options)
        guard targetShapes.count == objectives.count else {
            throw KilnError(.invalidData, "model \(String(reflecting: name)) has \(objectives.count) outputs, got "
                            + "\(targetShapes.count) targets")
        }
        let graph = Graph()
        let context = LayerContext(graph: graph, training: training)
        let predictions = try forward(inputPlaceholders(graph, shapes: inputShapes), context: context)
        // The outputs' sample shapes in this graph, where a None size of the model is known.
        let outputShapes = predictions.map { $0.shape.dims.dropFirst().map { $0.staticSize ?? Input.none } }
        var terms: [(yTrue: Node, sampleWeight: Node, loss: Node)] = []
        let feeds = feedNames
        for index in objectives.indices {
            let yTrue = try graph.placeholder(feeds[index].target, shape: Shape([.batch] + targetShapes[index].map { .size($0) }))
            let sampleWeight = try graph.placeholder(feeds[index].sampleWeight, shape: [.batch])
            let loss = try lossNode(objectives[index], yTrue: yTrue, yPred: predictions[index], sampleWeight: sampleWeight,
                                    targetShape: targetShapes[index], outputShape: outputShapes[index])
            terms.append((yTrue, sampleWeight, loss))
        }
        var loss = try weighted(terms[0].loss, objectives[0].weight)
        for index in objectives.indices.dropFirst() { loss = try loss + weighted(terms[index].loss, objectives[index].weight) }
        // Regularization, as Keras adds it to the loss it reports and differentiates: each
        // trainable weight's penalty and the layers' added losses.
        for variable in layers.flatMap(\.trainableVariables) {
            if let regularizer = variable.regularizer { loss = try loss + regularizer.penalty(context.variable(variable)) }
        }
        for added in context.addedLosses { loss = try loss + added }
        let prefix = training ? "metrics/train" : "metrics/test"
        var accumulators = [try addLossAccumulator(loss, name: "loss", prefix: prefix)]
        for (index, objective) in objectives.enumerated() {
            // Keras logs each output's own (unweighted) loss and metrics under its name when there are several.
            let tag = objectives.count > 1 ? "\(objective.name)_" : ""
            if objectives.count > 1 { accumulators.append(try addLossAccumulator(terms[index].loss, name: "\(tag)loss", prefix: prefix)) }
            // As in Keras, `metrics` are not weighted by the sample or class weights.
            let unweighted = try broadcast(graph.constant(Float(1)), to: [.batch])
            accumulators += try addMetricAccumulators(objective, tag: tag, yTrue: terms[index].yTrue, yPred: predictions[index],
                                                      sampleWeight: unweighted, prefix: prefix,
                                                      targetShape: targetShapes[index], outputShape: outputShapes[index])
        }
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

    /// An output's loss times its weight, if it has one.
    private func weighted(_ loss: Node, _ weight: Float?) throws -> Node {
        guard let weight else { return loss }
        return try loss * loss.graph.constant(weight)
    }

    /// The batch's loss of one output: the mean over the batch of each sample's loss times its weight.
    ///
    /// - Throws: ``KilnError`` naming the loss, the output and the shapes if it cannot be built.
    private func lossNode(_ objective: OutputObjective, yTrue: Node, yPred: Node, sampleWeight: Node,
                          targetShape: [Int], outputShape: [Int]) throws -> Node {
        do {
            return try sum(objective.loss.values(yTrue: yTrue, yPred: yPred) * sampleWeight) / yPred.graph.elementCount([.batch])
        } catch let error as KilnError {
            throw KilnError(error.kind, "loss \(objective.loss.name) on targets \(Layer.shapesText([targetShape])) and "
                            + "\(outputs.count > 1 ? "output \(String(reflecting: objective.name))" : "outputs") "
                            + "\(Layer.shapesText([outputShape])): \(error.message)")
        }
    }

    /// Adds the accumulator of a loss named `name` under `prefix`, with the assigns adding
    /// the batch to it (its mean weighted by batch size).
    private func addLossAccumulator(_ loss: Node, name: String, prefix: String) throws -> MetricAccumulator {
        let graph = loss.graph
        let names = ["total", "count"].map { "\(prefix)/\(name)/\($0)" }
        for (variableName, increment) in zip(names, [try loss * graph.elementCount([.batch]), try graph.elementCount([.batch])]) {
            let variable = try graph.variable(variableName, initialValue: Tensor(Float(0)))
            _ = try graph.assign(variable, variable + increment)
        }
        return MetricAccumulator(name: name, variables: names) { $0[1] == 0 ? 0 : $0[0] / $0[1] }
    }

    /// Adds each metric's accumulator of one output under `prefix`, logged as `tag` followed
    /// by the metric's name, with the assigns adding the batch to them.
    ///
    /// - Throws: ``KilnError`` naming the metric and the shapes if one cannot be built.
    private func addMetricAccumulators(_ objective: OutputObjective, tag: String, yTrue: Node, yPred: Node, sampleWeight: Node,
                                       prefix: String, targetShape: [Int], outputShape: [Int]) throws -> [MetricAccumulator] {
        return try objective.metrics.map { metric in
            let kind = metric.resolved(loss: objective.loss, targetShape: targetShape, outputShape: outputShape)
            do {
                try metric.check(kind, targetShape: targetShape, outputShape: outputShape)
                return try MetricAccumulator.build(kind, name: tag + metric.name, prefix: prefix, yTrue: yTrue, yPred: yPred,
                                                   sampleWeight: sampleWeight)
            } catch let error as KilnError {
                throw KilnError(error.kind, "metric \(metric.name) on targets \(Layer.shapesText([targetShape])) and "
                                + "\(tag.isEmpty ? "outputs" : "output \(String(reflecting: objective.name))") "
                                + "\(Layer.shapesText([outputShape])): \(error.message)")
            }
        }
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
