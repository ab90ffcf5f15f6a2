import KilnGraph

/// Looks up a learned vector for each integer id in `0..<inputDim` (Keras' `Embedding`).
///
/// Float inputs are truncated to integers. An id out of range stops the run with an error
/// naming it and its position; no memory outside the table is read.
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

    /// A table of `inputDim` vectors of length `outputDim`.
    public init(inputDim: Int, outputDim: Int, embeddingsInitializer: Initializer = .randomUniform(),
                name: String? = nil) {
        self.inputDim = inputDim
        self.outputDim = outputDim
        self.embeddingsInitializer = embeddingsInitializer
        super.init(name: name)
    }

    override public var config: [String: JSONValue] {
        ["input_dim": .number(Double(inputDim)), "output_dim": .number(Double(outputDim)),
         "embeddings_initializer": embeddingsInitializer.config]
    }

    override public func build(inputShapes: [[Int]]) throws {
        try requireSingleInput(inputShapes)
        guard inputDim > 0, outputDim > 0 else {
            throw KilnError(.invalidArgument, "input_dim and output_dim must be positive, got \(inputDim) and \(outputDim)")
        }
        try addWeight("embeddings", shape: [inputDim, outputDim], initializer: embeddingsInitializer)
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        try requireSingleInput(inputShapes)
        return inputShapes[0] + [outputDim]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let ids = inputs[0].type.dtype == .int32 ? inputs[0] : try cast(inputs[0], to: .int32)
        return try gather(context.variable(variables[0]), indices: ids)
    }
}
