import KilnGraph

/// Normalises each feature with the batch's mean and variance during training, and with
/// moving averages of them otherwise or while the layer is frozen (`trainable` false), as
/// Keras' `BatchNormalization` on the last axis does.
///
/// Weights: `gamma` (ones), `beta` (zeros), then the non-trainable `moving_mean` (zeros) and
/// `moving_variance` (ones), updated at each training step as
/// `moving = moving * momentum + batch * (1 - momentum)`.
///
/// Shapes: input `[batch, ..., features]`, output the same; each weight is `[features]`.
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

    /// Any shape with the same last axis (the one the weights are for).
    override public func accepts(inputShapes shapes: [[Int]], builtFor built: [[Int]]) -> Bool {
        Layer.sameLastAxes(shapes, built, sameRank: false)
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let x = inputs[0]
        let movingMean = try context.variable(try weight(named: "moving_mean"))
        let movingVariance = try context.variable(try weight(named: "moving_variance"))
        let mean: Node, variance: Node
        // A frozen layer normalises with its moving statistics and leaves them alone, as in Keras.
        if context.training && trainable {
            let axes = Array(0..<(x.shape.rank - 1))
            mean = try KilnGraph.mean(x, axes: axes)
            variance = try KilnGraph.mean(square(x - mean), axes: axes)
            try context.update(try weight(named: "moving_mean"), to: movingMean * momentum + mean * (1 - momentum))
            try context.update(try weight(named: "moving_variance"), to: movingVariance * momentum + variance * (1 - momentum))
        } else {
            mean = movingMean
            variance = movingVariance
        }
        var inverse = try rsqrt(variance + epsilon)
        if scale { inverse = try inverse * context.variable(weight(named: "gamma")) }
        var offset = try neg(mean) * inverse
        if center { offset = try offset + context.variable(weight(named: "beta")) }
        return try x * inverse + offset
    }
}
