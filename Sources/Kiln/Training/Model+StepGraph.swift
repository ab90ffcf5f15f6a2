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
    /// take ``ModelStep/targetFeed`` (class indices for a sparse loss, `[batch]` or one per
    /// step of a sequence output, else shaped like the output) and ``ModelStep/sampleWeightFeed`` (`[batch]`), followed by `/OUTPUT`
    /// for each output of a model with several. The prediction is output `y` (the outputs
    /// are named after ``Model/outputNames`` when there are several). Training and evaluation
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
                let targetShapes = try zip(objectives(options), outputs).map { $0.loss.sparseTargets ? Array($1.shape.dropLast()) : $1.shape }
                let trainable = step == .train ? layers.flatMap(\.trainableVariables) : []
                let (graph, _) = try stepGraph(options, training: step == .train, trainable: trainable, targetShapes: targetShapes)
                return (graph, [:])
            }
        }
    }
}

extension Model {
    /// A training or evaluation step's placeholders for one output's targets and sample weights.
    public struct TargetFeed: Sendable {
        /// The placeholder of the targets.
        public let target: String
        /// The placeholder of the per-sample weights (`[batch]`).
        public let sampleWeight: String
        /// The number of classes when the targets are class indices (a sparse loss), else `nil`.
        public let classes: Int?
    }

    /// The target and sample-weight placeholders of ``graph(for:)``'s training and
    /// evaluation steps, one per output.
    ///
    /// - Throws: ``KilnError`` if the model is not compiled or its compile settings do not
    ///   fit its outputs.
    public func targetFeeds() throws -> [TargetFeed] {
        guard let options = compileOptions else {
            throw KilnError(.notReady, "model \(String(reflecting: name)) is not compiled, so its steps take no targets")
        }
        return zip(try objectives(options), feedNames).enumerated().map { index, pair in
            let classes = index < outputs.count ? outputs[index].shape.last ?? 1 : 1
            return TargetFeed(target: pair.1.target, sampleWeight: pair.1.sampleWeight,
                              classes: pair.0.loss.sparseTargets ? classes : nil)
        }
    }
}
