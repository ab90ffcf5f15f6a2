import KilnGraph

/// A program a model runs, as ``Model/graph(for:)`` builds it.
public enum ModelStep: String, CaseIterable, Sendable {
    /// Inference: the inputs to the output `y`, every layer in its inference behaviour.
    case predict
    /// One training step: forward pass, loss, gradients, the optimizer's update and the
    /// metric accumulators.
    case train
    /// One evaluation step: forward pass, loss and the metric accumulators.
    case evaluate
}

extension ModelStep {
    /// The placeholder of a training or evaluation step that takes the targets.
    public static let targetFeed = "target"
    /// The placeholder of a training or evaluation step that takes one weight per sample.
    public static let sampleWeightFeed = "sample_weight"
}

extension Model {
    /// The graph the model compiles for `step`, exactly as `fit`, `evaluate` and `predict`
    /// run it (what `kiln graph`, `kiln dump-c` and `kiln compare` show for a `.kiln` file).
    ///
    /// Placeholders are named after the model's inputs; training and evaluation steps also
    /// take ``ModelStep/targetFeed`` (`[batch]` class indices for a sparse loss, else shaped
    /// like the output) and ``ModelStep/sampleWeightFeed`` (`[batch]`). The prediction is output `y`. Training and evaluation
    /// steps have no outputs: the loss, the metrics and every update are assigns.
    ///
    /// - Throws: ``KilnError`` if the model has no input shape yet, or is not compiled (for
    ///   training and evaluation).
    public func graph(for step: ModelStep) throws -> (graph: Graph, outputs: [String: Node]) {
        try building.withLock { _ in
            switch step {
            case .predict:
                return try predictGraph()
            case .train, .evaluate:
                try requireBuilt()
                guard let options = compileOptions else {
                    throw KilnError(.notReady, "model \(String(reflecting: name)) is not compiled, so it has no \(step) step "
                                    + "(a model saved with a custom loss is loaded uncompiled)")
                }
                let targetShape = options.loss.sparseTargets ? [] : output?.shape ?? []
                let trainable = step == .train ? layers.flatMap(\.trainableVariables) : []
                let (graph, _) = try stepGraph(options, training: step == .train, trainable: trainable, targetShape: targetShape)
                return (graph, [:])
            }
        }
    }
}
