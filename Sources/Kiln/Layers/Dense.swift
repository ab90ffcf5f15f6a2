import KilnGraph

/// `activation(x · kernel + bias)`: a fully connected layer on the last axis.
///
/// The kernel is `[inputSize, units]` (Glorot uniform by default) and the bias `[units]`
/// (zeros), as in Keras.
///
/// Shapes: input `[batch, ..., inputSize]`, output `[batch, ..., units]`.
public final class Dense: Layer {
    /// The output size.
    public let units: Int
    /// The function applied to the affine result.
    public let activation: ActivationFunction
    /// Whether there is a bias.
    public let useBias: Bool
    /// How the kernel starts.
    public let kernelInitializer: Initializer
    /// How the bias starts.
    public let biasInitializer: Initializer

    /// A layer of `units` outputs.
    public init(_ units: Int, activation: ActivationFunction = .linear, useBias: Bool = true,
                kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
                kernelRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                activityRegularizer: Regularizer? = nil, kernelConstraint: Constraint? = nil, biasConstraint: Constraint? = nil,
                name: String? = nil) {
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer
        super.init(name: name)
        regularize(kernel: (kernelRegularizer, kernelConstraint), bias: (biasRegularizer, biasConstraint),
                   activity: activityRegularizer)
    }

    override public var config: [String: JSONValue] {
        ["units": .number(Double(units)), "activation": activation.config, "use_bias": .bool(useBias),
         "kernel_initializer": kernelInitializer.config, "bias_initializer": biasInitializer.config]
    }

    override public func build(inputShapes: [[Int]]) throws {
        try requireSingleInput(inputShapes)
        guard units > 0 else { throw KilnError(.invalidArgument, "units must be positive, got \(units)") }
        guard let last = inputShapes[0].last else {
            throw KilnError(.shapeMismatch, "needs inputs with at least one axis, got a scalar per sample")
        }
        try addWeight("kernel", shape: [last, units], initializer: kernelInitializer)
        if useBias { try addWeight("bias", shape: [units], initializer: biasInitializer) }
    }

    /// Any shape with the same last axis (the one the weights are for).
    override public func accepts(inputShapes shapes: [[Int]], builtFor built: [[Int]]) -> Bool {
        Layer.sameLastAxes(shapes, built, sameRank: false)
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        try requireSingleInput(inputShapes)
        return inputShapes[0].dropLast() + [units]
    }

    /// The input's mask, unchanged: the steps are the same.
    override public func computeMask(_ inputs: [Node], masks: [Node?]) throws -> Node? { masks.first ?? nil }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        var y = try matmul(inputs[0], context.variable(variables[0]))
        if useBias { y = try y + context.variable(variables[1]) }
        return try activation.apply(y)
    }
}
