import KilnGraph

/// `activation(x · kernel + bias)`: a fully connected layer on the last axis.
///
/// The kernel is `[inputSize, units]` (Glorot uniform by default) and the bias `[units]`
/// (zeros), as in Keras.
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
                name: String? = nil) {
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer
        super.init(name: name)
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

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        try requireSingleInput(inputShapes)
        return inputShapes[0].dropLast() + [units]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        var y = try matmul(inputs[0], context.variable(variables[0]))
        if useBias { y = try y + context.variable(variables[1]) }
        return try activation.apply(y)
    }
}

/// Applies an activation function (Keras' `Activation`).
public final class Activation: Layer {
    /// The function.
    public let function: ActivationFunction

    /// A layer applying `function`.
    public init(_ function: ActivationFunction, name: String? = nil) {
        self.function = function
        super.init(name: name)
    }

    override public var config: [String: JSONValue] { ["activation": function.config] }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node { try function.apply(inputs[0]) }
}

/// Sets a fraction `rate` of the inputs to zero during training and scales the rest by
/// `1 / (1 - rate)`; passes inputs through unchanged otherwise.
///
/// The mask comes from the graph's counter-based generator, so both backends draw the same one.
public final class Dropout: Layer {
    /// The fraction of inputs dropped, in `[0, 1)`.
    public let rate: Float

    /// A dropout layer dropping `rate` of its inputs.
    public init(_ rate: Float, name: String? = nil) {
        self.rate = rate
        super.init(name: name)
    }

    override public var config: [String: JSONValue] { ["rate": .number(Double(rate))] }

    override public func build(inputShapes: [[Int]]) throws {
        try requireSingleInput(inputShapes)
        guard rate >= 0 && rate < 1 else { throw KilnError(.invalidArgument, "rate must be in [0, 1), got \(rate)") }
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let x = inputs[0]
        guard context.training, rate > 0 else { return x }
        let keep = try less(context.randomUniform(shape: x.shape), x.graph.constant(1 - rate))
        return try select(keep, x / (1 - rate), x.graph.constant(0))
    }
}

/// Flattens each sample to one axis.
public final class Flatten: Layer {
    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        try requireSingleInput(inputShapes)
        guard let count = Shape.product(inputShapes[0]) else {
            throw KilnError(.shapeMismatch, "the element count of \(inputShapes[0]) overflows")
        }
        return [count]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        try reshape(inputs[0], to: Shape([.batch] + outputShape(inputShapes: inputShapes(inputs)).map { .size($0) }))
    }
}

/// Gives each sample another shape with the same number of elements; one size may be `-1`.
public final class Reshape: Layer {
    /// The target shape of a sample, possibly with one `-1`.
    public let targetShape: [Int]

    /// A layer reshaping each sample to `targetShape`.
    public init(_ targetShape: [Int], name: String? = nil) {
        self.targetShape = targetShape
        super.init(name: name)
    }

    override public var config: [String: JSONValue] { ["target_shape": .ints(targetShape)] }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        try requireSingleInput(inputShapes)
        let unknown = targetShape.filter { $0 == -1 }.count
        let known = targetShape.filter { $0 != -1 }
        guard unknown <= 1, known.allSatisfy({ $0 > 0 }) else {
            throw KilnError(.invalidArgument, "target shape \(targetShape) must have positive sizes and at most one -1")
        }
        guard let count = Shape.product(inputShapes[0]), let product = Shape.product(known) else {
            throw KilnError(.shapeMismatch, "cannot reshape \(inputShapes[0]) to \(targetShape): the element count overflows")
        }
        if unknown == 1 {
            guard count % product == 0 else {
                throw KilnError(.shapeMismatch, "cannot reshape \(inputShapes[0]) (\(count) elements) to \(targetShape)")
            }
            return targetShape.map { $0 == -1 ? count / product : $0 }
        }
        guard product == count else {
            throw KilnError(.shapeMismatch, "cannot reshape \(inputShapes[0]) (\(count) elements) to \(targetShape)")
        }
        return targetShape
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let shape = try outputShape(inputShapes: inputShapes(inputs))
        return try reshape(inputs[0], to: Shape([.batch] + shape.map { .size($0) }))
    }
}

extension Layer {
    /// The per-sample shapes of graph inputs (without their leading batch dimension).
    func inputShapes(_ inputs: [Node]) -> [[Int]] {
        inputs.map { $0.shape.dims.dropFirst().map { $0.staticSize ?? 0 } }
    }
}
