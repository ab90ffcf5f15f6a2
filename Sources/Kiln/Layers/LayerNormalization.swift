import KilnGraph

/// Normalises each sample over its last axis to zero mean and unit variance, then scales
/// by `gamma` and shifts by `beta` (Keras' `LayerNormalization`).
///
/// Shapes: input `[batch, ..., features]`, output the same; `gamma` and `beta` are `[features]`.
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

    /// Any shape with the same last axis (the one the weights are for).
    override public func accepts(inputShapes shapes: [[Int]], builtFor built: [[Int]]) -> Bool {
        Layer.sameLastAxes(shapes, built, sameRank: false)
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
