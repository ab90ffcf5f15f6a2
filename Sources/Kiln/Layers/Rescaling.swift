import KilnGraph

/// Multiplies each feature by `scale` and adds `offset`: fixed, untrained weights that put
/// preprocessing inside the model (``FeatureScaler/layer(name:)``), so it is saved with it.
///
/// Shapes: input `[batch, ..., features]`, output the same; `scale` and `offset` are `[features]`.
///
/// Kiln's `Rescaling` takes one scale and offset per feature (the last axis); Keras' takes
/// scalars and has no weights.
public final class Rescaling: Layer {
    private let initialScale: [Float]
    private let initialOffset: [Float]

    /// A layer computing `x * scale + offset` feature by feature; both arrays have one
    /// element per feature, or one for all features.
    public init(scale: [Float], offset: [Float], name: String? = nil) {
        initialScale = scale
        initialOffset = offset
        super.init(name: name)
        trainable = false
    }

    override public var config: [String: JSONValue] { ["features": .number(Double(initialScale.count))] }

    override public func build(inputShapes: [[Int]]) throws {
        try requireSingleInput(inputShapes)
        guard let features = inputShapes[0].last,
              initialScale.count == initialOffset.count, [1, features].contains(initialScale.count)
        else {
            throw KilnError(.shapeMismatch, "layer \(String(reflecting: name)) has \(initialScale.count) scales and "
                            + "\(initialOffset.count) offsets for inputs of shape \(Layer.shapesText(inputShapes))")
        }
        try addWeight("scale", shape: [initialScale.count], initializer: .ones, trainable: false)
        try addWeight("offset", shape: [initialOffset.count], initializer: .zeros, trainable: false)
        try setWeights([Tensor(shape: [initialScale.count], scalars: initialScale),
                        Tensor(shape: [initialOffset.count], scalars: initialOffset)])
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let weights = variables
        return try inputs[0] * context.variable(weights[0]) + context.variable(weights[1])
    }
}
