import Kiln

/// The built-in sample graphs: small multilayer perceptrons, forward and training steps.
public enum SampleGraphs {
    /// The optimizer a training-step sample applies.
    public enum OptimizerKind: String, Sendable {
        /// `w -= 0.01 * g`.
        case sgd
        /// Adam with Keras' defaults (learning rate 0.001, β1 0.9, β2 0.999, ε 1e-7).
        case adam
    }

    /// The names `sample(named:)` knows, in the order tools list them.
    public static let names = ["mlp-forward", "mlp-train-sgd", "mlp784-forward", "mlp784-train-adam"]

    /// The sample called `name`.
    ///
    /// - Throws: ``KilnError`` naming the samples if there is none called `name`.
    public static func sample(named name: String) throws -> SampleGraph {
        switch name {
        case "mlp-forward": return try mlpForward(sizes: [2, 16, 8, 1])
        case "mlp-train-sgd": return try mlpTrainingStep(sizes: [2, 16, 8, 1], optimizer: .sgd)
        case "mlp784-forward": return try mlpForward(sizes: [784, 256, 128, 10])
        case "mlp784-train-adam": return try mlpTrainingStep(sizes: [784, 256, 128, 10], optimizer: .adam)
        default:
            throw KilnError(.unknownName, "no sample graph \(String(reflecting: name)); the samples are: "
                            + names.joined(separator: ", "))
        }
    }

    /// An MLP's prediction: relu hidden layers, then sigmoid (one output) or softmax.
    ///
    /// `[batch, sizes[0]] -> [batch, sizes.last]`.
    public static func mlpForward(sizes: [Int]) throws -> SampleGraph {
        let graph = Graph()
        let x = try graph.placeholder("x", shape: [.batch, .size(sizes[0])])
        let (logits, _) = try layers(graph, x, sizes: sizes)
        let y = sizes.last == 1 ? try sigmoid(logits) : try softmax(logits)
        return SampleGraph(name: "mlp\(sizes[0] == 784 ? "784" : "")-forward",
                           summary: "MLP \(sizes.map(String.init).joined(separator: "-")) forward pass (relu, then \(sizes.last == 1 ? "sigmoid" : "softmax"))",
                           graph: graph, outputs: ["y": y], feeds: [("x", .uniform(-1, 1))])
    }

    /// An MLP's training step: forward pass, loss (binary crossentropy from logits for one
    /// output, sparse categorical crossentropy otherwise), gradients of every weight, and the
    /// optimizer's update of every weight, all in one graph.
    public static func mlpTrainingStep(sizes: [Int], optimizer: OptimizerKind) throws -> SampleGraph {
        let graph = Graph()
        let x = try graph.placeholder("x", shape: [.batch, .size(sizes[0])])
        let (logits, weights) = try layers(graph, x, sizes: sizes)
        let loss: Node
        let labelFeed: SampleGraph.Feed
        if sizes.last == 1 {
            let y = try graph.placeholder("y", shape: [.batch, 1])
            loss = try mean(softplus(logits) - y * logits)
            labelFeed = .labels(2)
        } else {
            let y = try graph.placeholder("y", shape: [.batch], dtype: .int32)
            let picked = try sum(oneHot(y, depth: sizes[sizes.count - 1]) * logSoftmax(logits), axes: [1])
            loss = try neg(mean(picked))
            labelFeed = .labels(sizes[sizes.count - 1])
        }
        let gradients = try graph.gradients(of: loss, wrt: weights.map(\.node))
        var outputs = ["loss": loss]
        for (weight, gradient) in zip(weights, gradients) { outputs["grad:\(weight.name)"] = gradient }
        switch optimizer {
        case .sgd:
            for (weight, gradient) in zip(weights, gradients) {
                _ = try graph.assign(weight.node, weight.node - gradient * 0.01)
            }
        case .adam:
            try Adam().apply(to: graph, weights: weights.map { ($0.name, $0.node) }, gradients: gradients)
        }
        let name = (sizes[0] == 784 ? "mlp784" : "mlp") + "-train-\(optimizer.rawValue)"
        return SampleGraph(name: name,
                           summary: "MLP \(sizes.map(String.init).joined(separator: "-")) training step: forward, loss, "
                               + "gradients and the \(optimizer == .sgd ? "SGD" : "Adam") update",
                           graph: graph, outputs: outputs, feeds: [("x", .uniform(-1, 1)), ("y", labelFeed)])
    }

    private static func layers(_ graph: Graph, _ x: Node, sizes: [Int]) throws -> (Node, [(name: String, node: Node)]) {
        var generator = SeededGenerator(seed: 42)
        var h = x
        var weights: [(String, Node)] = []
        for layer in 1..<sizes.count {
            let fanIn = sizes[layer - 1], fanOut = sizes[layer]
            let limit = (6 / Float(fanIn + fanOut)).squareRoot()
            let name = layer == 1 ? "dense" : "dense_\(layer - 1)"
            let kernel = try graph.variable("\(name)/kernel", initialValue: Tensor.randomUniform(
                shape: [fanIn, fanOut], lower: -limit, upper: limit, using: &generator))
            let bias = try graph.variable("\(name)/bias", initialValue: Tensor(shape: [fanOut], repeating: Float(0)))
            weights += [("\(name)/kernel", kernel), ("\(name)/bias", bias)]
            h = try matmul(h, kernel) + bias
            if layer < sizes.count - 1 { h = try relu(h) }
        }
        return (h, weights)
    }
}
