import KilnGraph

/// `activation(conv1d(x, kernel) + bias)`: a 1-D convolution over sequences, as Keras' `Conv1D`.
///
/// The kernel is `[kernelSize, inputChannels, filters]` (Glorot uniform by default) and the
/// bias `[filters]`, Keras' layout. `causal` padding pads the start of the sequence only.
///
/// Shapes: input `[batch, steps, channels]`, output `[batch, outSteps, filters]`.
public final class Conv1D: Layer {
    /// The output channels.
    public let filters: Int
    /// The window's length.
    public let kernelSize: Int
    /// The step between windows.
    public let strides: Int
    /// How windows meet the sequence's ends: `valid`, `same` or `causal`.
    public let padding: Padding
    /// The spacing of a window's cells.
    public let dilationRate: Int
    /// The function applied to the result.
    public let activation: ActivationFunction
    /// Whether there is a bias.
    public let useBias: Bool
    /// How the kernel starts.
    public let kernelInitializer: Initializer
    /// How the bias starts.
    public let biasInitializer: Initializer

    /// A convolution with `filters` outputs and windows of `kernelSize` steps.
    public init(_ filters: Int, kernelSize: Int, strides: Int = 1, padding: Padding = .valid, dilationRate: Int = 1,
                activation: ActivationFunction = .linear, useBias: Bool = true, kernelInitializer: Initializer = .glorotUniform,
                biasInitializer: Initializer = .zeros, name: String? = nil) {
        self.filters = filters
        self.kernelSize = kernelSize
        self.strides = strides
        self.padding = padding
        self.dilationRate = dilationRate
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer
        super.init(name: name)
    }

    override public var config: [String: JSONValue] {
        ["filters": .number(Double(filters)), "kernel_size": WindowArguments.json([kernelSize]),
         "strides": WindowArguments.json([strides]), "padding": .string(padding.rawValue),
         "data_format": .string("channels_last"), "dilation_rate": WindowArguments.json([dilationRate]),
         "activation": activation.config, "use_bias": .bool(useBias),
         "kernel_initializer": kernelInitializer.config, "bias_initializer": biasInitializer.config]
    }

    /// The window over a sequence of `steps` seen as a one-row image.
    private func window(steps: Int) -> PatchWindow {
        PatchWindow(size: [1, kernelSize], stride: [1, strides], dilation: [1, dilationRate], padding: padding,
                    imageSize: [1, steps])
    }

    override public func build(inputShapes: [[Int]]) throws {
        let channels = try WindowArguments.image(inputShapes, rank: 1, Self.typeName)[1]
        guard filters > 0 else { throw KilnError(.invalidArgument, "filters must be positive, got \(filters)") }
        try WindowArguments.check(["kernel_size": [kernelSize, 1], "strides": [strides, 1], "dilation_rate": [dilationRate, 1]])
        _ = try outputShape(inputShapes: inputShapes)
        try addWeight("kernel", shape: [kernelSize, channels, filters], initializer: kernelInitializer)
        if useBias { try addWeight("bias", shape: [filters], initializer: biasInitializer) }
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        let sequence = try WindowArguments.image(inputShapes, rank: 1, Self.typeName)
        return [try WindowArguments.windows(window(steps: sequence[0]), image: [1, sequence[0]])[1], filters]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let x = inputs[0], steps = try outputShape(inputShapes: inputShapes(inputs))[0]
        let length = x.shape[1].staticSize ?? 0, channels = x.shape[2].staticSize ?? 0
        let image = try reshape(x, to: Shape([x.shape[0], 1, .size(length), .size(channels)]))
        let kernel = try reshape(context.variable(variables[0]), to: Shape([1, .size(kernelSize), .size(channels), .size(filters)]))
        var y = try reshape(conv2d(image, kernel, window: window(steps: length)), to: Shape([x.shape[0], .size(steps), .size(filters)]))
        if useBias { y = try y + context.variable(variables[1]) }
        return try activation.apply(y)
    }
}
