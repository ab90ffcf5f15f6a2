import KilnGraph

/// Looks up a learned vector for each integer id in `0..<inputDim` (Keras' `Embedding`).
///
/// Float inputs are truncated to integers. An id out of range stops the run with an error
/// naming it and its position; no memory outside the table is read.
///
/// With `maskZero`, id 0 is padding: the layer's mask (`[batch, ...]`, true where the id is
/// not 0) tells the recurrent layers after it to skip those steps, as in Keras.
///
/// Shapes: input `[batch, ...]` of ids, output `[batch, ..., outputDim]`; the table is
/// `[inputDim, outputDim]`.
public final class Embedding: Layer {
    /// The number of ids.
    public let inputDim: Int
    /// The length of each vector.
    public let outputDim: Int
    /// How the table starts (Keras: uniform in `[-0.05, 0.05)`).
    public let embeddingsInitializer: Initializer
    /// Whether id 0 is padding that later layers skip (Keras' `mask_zero`).
    public let maskZero: Bool

    /// A table of `inputDim` vectors of length `outputDim`.
    public init(inputDim: Int, outputDim: Int, embeddingsInitializer: Initializer = .randomUniform(), maskZero: Bool = false,
                embeddingsRegularizer: Regularizer? = nil, activityRegularizer: Regularizer? = nil,
                embeddingsConstraint: Constraint? = nil, name: String? = nil) {
        self.inputDim = inputDim
        self.outputDim = outputDim
        self.embeddingsInitializer = embeddingsInitializer
        self.maskZero = maskZero
        super.init(name: name)
        regularize("embeddings", embeddingsRegularizer, embeddingsConstraint)
        self.activityRegularizer = activityRegularizer
    }

    override public var config: [String: JSONValue] {
        ["input_dim": .number(Double(inputDim)), "output_dim": .number(Double(outputDim)),
         "embeddings_initializer": embeddingsInitializer.config, "mask_zero": .bool(maskZero)]
    }

    /// With `maskZero`, true where the id is not 0.
    override public func computeMask(_ inputs: [Node], masks: [Node?]) throws -> Node? {
        guard maskZero else { return nil }
        let ids = try Self.ids(inputs[0])
        return try notEqual(ids, ids.graph.constant(try Tensor(shape: [], scalars: [Int32(0)])))
    }

    override public func build(inputShapes: [[Int]]) throws {
        try requireSingleInput(inputShapes)
        guard inputDim > 0, outputDim > 0 else {
            throw KilnError(.invalidArgument, "input_dim and output_dim must be positive, got \(inputDim) and \(outputDim)")
        }
        try addWeight("embeddings", shape: [inputDim, outputDim], initializer: embeddingsInitializer)
    }

    /// Ids of any shape: the table does not depend on it (sequences of 100 ids, then of 10).
    override public func accepts(inputShapes shapes: [[Int]], builtFor built: [[Int]]) -> Bool { shapes.count == 1 }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        try requireSingleInput(inputShapes)
        return inputShapes[0] + [outputDim]
    }

    /// The input as `int32` ids (floats truncated).
    private static func ids(_ x: Node) throws -> Node { x.type.dtype == .int32 ? x : try cast(x, to: .int32) }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let ids = try Self.ids(inputs[0])
        return try gather(context.variable(variables[0]), indices: ids)
    }
}
