import KilnGraph

/// Applies a layer to every step of a sequence, with the same weights (Keras'
/// `TimeDistributed`): a `Dense` on each step's features, a `Conv2D` on each frame of a video.
/// The steps are one loop in the graph (a scan), whatever their number.
///
/// Shapes: input `[batch, steps, ...]`, output `[batch, steps, ...]` with the wrapped layer's
/// output shape per step. The weights are the wrapped layer's. A layer that draws random
/// numbers or updates statistics in training (`Dropout`, `BatchNormalization`) is an error
/// here: apply it to the whole sequence instead.
public final class TimeDistributed: Layer {
    /// The layer applied at each step.
    public let layer: Layer

    /// Wraps `layer`.
    public init(_ layer: Layer, name: String? = nil) {
        self.layer = layer
        super.init(name: name)
    }

    override public var config: [String: JSONValue] {
        ["layer": Layer.wrappedConfig(layer, name: layer.name)]
    }

    /// The shape of one step, after checking there are steps.
    private func stepShapes(_ inputShapes: [[Int]]) throws -> [[Int]] {
        try requireSingleInput(inputShapes)
        guard inputShapes[0].count >= 2, inputShapes[0][0] >= 1 else {
            throw KilnError(.shapeMismatch, "needs sequences [steps, ...] of at least one step, got \(Layer.shapesText(inputShapes))")
        }
        return [Array(inputShapes[0].dropFirst())]
    }

    override public func build(inputShapes: [[Int]]) throws {
        try layer.prepare(inputShapes: stepShapes(inputShapes))
        adoptWeights(of: layer)
    }

    /// Any number of steps whose step shape the wrapped layer accepts.
    override public func accepts(inputShapes shapes: [[Int]], builtFor built: [[Int]]) -> Bool {
        guard shapes.count == 1, built.count == 1, shapes[0].count >= 2, built[0].count >= 2 else { return false }
        return layer.accepts(inputShapes: [Array(shapes[0].dropFirst())], builtFor: [Array(built[0].dropFirst())])
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        [inputShapes[0][0]] + (try layer.outputShape(inputShapes: stepShapes(inputShapes)))
    }

    override public func outputDType(inputDTypes: [DType]) -> DType { layer.outputDType(inputDTypes: inputDTypes) }

    override public func computeMask(_ inputs: [Node], masks: [Node?]) throws -> Node? { masks.first ?? nil }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let x = inputs[0], graph = x.graph
        guard case .size(let steps) = x.shape[1] else {
            throw KilnError(.shapeMismatch, "needs a static number of steps, got \(x.type)")
        }
        let order = [1, 0] + Array(2..<x.shape.rank)
        let sequence = try transpose(x, permutation: order)

        let body = Graph()
        let step = try body.placeholder("step", shape: Shape(Array(sequence.shape.dims.dropFirst())), dtype: x.dtype)
        let weights = try layer.variables.enumerated().map { index, weight in
            (weight, try body.placeholder("weight\(index)", shape: Shape(sizes: weight.shape)))
        }
        let inner = LayerContext(body: body, training: context.training, weights: weights,
                                 owner: "TimeDistributed(\(layer.name))")
        let output = try layer.call([step], masks: [nil], context: inner)
        let loop = try Scan(body: body, carries: [], steps: [step], invariants: weights.map(\.1), newCarries: [],
                            outputs: [output], length: steps)
        let out = try graph.scan(loop, carries: [], sequences: [sequence],
                                 invariants: try layer.variables.map { try context.variable($0) })
        let stacked = out.outputs[0]
        return try transpose(stacked, permutation: [1, 0] + Array(2..<stacked.shape.rank))
    }
}
