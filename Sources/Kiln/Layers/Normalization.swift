import KilnGraph

/// Normalises each feature with the batch's mean and variance during training, and with
/// moving averages of them otherwise (Keras' `BatchNormalization` on the last axis).
///
/// Weights: `gamma` (ones), `beta` (zeros), then the non-trainable `moving_mean` (zeros) and
/// `moving_variance` (ones), updated at each training step as
/// `moving = moving * momentum + batch * (1 - momentum)`.
public final class BatchNormalization: Layer {
    /// The weight of the old value in the moving averages.
    public let momentum: Float
    /// Added to the variance before the square root.
    public let epsilon: Float
    /// Whether there is a learned offset `beta`.
    public let center: Bool
    /// Whether there is a learned scale `gamma`.
    public let scale: Bool

    /// A batch normalisation layer with Keras' defaults.
    public init(momentum: Float = 0.99, epsilon: Float = 0.001, center: Bool = true, scale: Bool = true,
                name: String? = nil) {
        self.momentum = momentum
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        super.init(name: name)
    }

    override public var config: [String: JSONValue] {
        ["momentum": .number(Double(momentum)), "epsilon": .number(Double(epsilon)), "center": .bool(center),
         "scale": .bool(scale)]
    }

    override public func build(inputShapes: [[Int]]) throws {
        try requireSingleInput(inputShapes)
        guard let features = inputShapes[0].last else { throw KilnError(.shapeMismatch, "needs a feature axis") }
        if scale { try addWeight("gamma", shape: [features], initializer: .ones) }
        if center { try addWeight("beta", shape: [features], initializer: .zeros) }
        try addWeight("moving_mean", shape: [features], initializer: .zeros, trainable: false)
        try addWeight("moving_variance", shape: [features], initializer: .ones, trainable: false)
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let x = inputs[0]
        let weights = Dictionary(uniqueKeysWithValues: variables.map { ($0.name, $0) })
        let movingMean = try context.variable(weights["moving_mean"]!)
        let movingVariance = try context.variable(weights["moving_variance"]!)
        let mean: Node, variance: Node
        if context.training {
            let axes = Array(0..<(x.shape.rank - 1))
            mean = try KilnGraph.mean(x, axes: axes)
            variance = try KilnGraph.mean(square(x - mean), axes: axes)
            try context.update(weights["moving_mean"]!, to: movingMean * momentum + mean * (1 - momentum))
            try context.update(weights["moving_variance"]!, to: movingVariance * momentum + variance * (1 - momentum))
        } else {
            mean = movingMean
            variance = movingVariance
        }
        var inverse = try rsqrt(variance + epsilon)
        if scale { inverse = try inverse * context.variable(weights["gamma"]!) }
        var offset = try neg(mean) * inverse
        if center { offset = try offset + context.variable(weights["beta"]!) }
        return try x * inverse + offset
    }
}

/// Normalises each sample over its last axis to zero mean and unit variance, then scales
/// by `gamma` and shifts by `beta` (Keras' `LayerNormalization`).
public final class LayerNormalization: Layer {
    /// Added to the variance before the square root.
    public let epsilon: Float
    /// Whether there is a learned offset `beta`.
    public let center: Bool
    /// Whether there is a learned scale `gamma`.
    public let scale: Bool

    /// A layer normalisation layer with Keras' defaults.
    public init(epsilon: Float = 0.001, center: Bool = true, scale: Bool = true, name: String? = nil) {
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        super.init(name: name)
    }

    override public var config: [String: JSONValue] {
        ["epsilon": .number(Double(epsilon)), "center": .bool(center), "scale": .bool(scale)]
    }

    override public func build(inputShapes: [[Int]]) throws {
        try requireSingleInput(inputShapes)
        guard let features = inputShapes[0].last else { throw KilnError(.shapeMismatch, "needs a feature axis") }
        if scale { try addWeight("gamma", shape: [features], initializer: .ones) }
        if center { try addWeight("beta", shape: [features], initializer: .zeros) }
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let x = inputs[0]
        let last = x.shape.rank - 1
        let mean = try KilnGraph.mean(x, axes: [last], keepDims: true)
        let centered = try x - mean
        let variance = try KilnGraph.mean(square(centered), axes: [last], keepDims: true)
        var y = try centered * rsqrt(variance + epsilon)
        var index = 0
        if scale {
            y = try y * context.variable(variables[index])
            index += 1
        }
        if center { y = try y + context.variable(variables[index]) }
        return y
    }
}

/// Looks up a learned vector for each integer id in `0..<inputDim` (Keras' `Embedding`).
///
/// Float inputs are truncated to integers. An id out of range stops the run with an error
/// naming it and its position; no memory outside the table is read.
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

/// The elementwise sum of several inputs of the same shape.
public final class Add: Layer {
    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        guard inputShapes.count >= 2 else { throw KilnError(.invalidArgument, "needs at least two inputs, got \(inputShapes.count)") }
        guard inputShapes.allSatisfy({ $0 == inputShapes[0] }) else {
            throw KilnError(.shapeMismatch, "inputs must have the same shape, got \(Layer.shapesText(inputShapes))")
        }
        return inputShapes[0]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        try inputs.dropFirst().reduce(inputs[0]) { try $0 + $1 }
    }
}

/// Joins several inputs along an axis (the last by default; the batch axis is 0).
public final class Concatenate: Layer {
    /// The axis, counting the batch axis as 0; negative counts from the end.
    public let axis: Int

    /// A layer joining its inputs along `axis`.
    public init(axis: Int = -1, name: String? = nil) {
        self.axis = axis
        super.init(name: name)
    }

    override public var config: [String: JSONValue] { ["axis": .number(Double(axis))] }

    /// The axis within a sample (without the batch axis).
    private func sampleAxis(rank: Int) throws -> Int {
        let full = axis < 0 ? axis + rank + 1 : axis
        guard full >= 1 && full <= rank else {
            throw KilnError(.invalidArgument, "axis \(axis) is out of range for inputs of rank \(rank + 1) (0 is the batch axis)")
        }
        return full - 1
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        guard inputShapes.count >= 2 else { throw KilnError(.invalidArgument, "needs at least two inputs, got \(inputShapes.count)") }
        let rank = inputShapes[0].count
        let k = try sampleAxis(rank: rank)
        for shape in inputShapes {
            guard shape.count == rank, shape.indices.allSatisfy({ $0 == k || shape[$0] == inputShapes[0][$0] }) else {
                throw KilnError(.shapeMismatch, "inputs \(Layer.shapesText(inputShapes)) differ outside axis \(axis)")
            }
        }
        var result = inputShapes[0]
        result[k] = inputShapes.reduce(0) { $0 + $1[k] }
        return result
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        try concatenate(inputs, axis: sampleAxis(rank: inputs[0].shape.rank - 1) + 1)
    }
}
