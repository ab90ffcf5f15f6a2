import KilnGraph

/// What every convolution layer has: `filters` output channels, padding, an activation, a
/// kernel and an optional bias with their initializers (``Conv1D``, ``Conv2D``,
/// ``Conv2DTranspose``). Subclasses give the window and the product.
public class Convolution: Layer {
    /// The output channels.
    public let filters: Int
    /// How windows meet the input's edges.
    public let padding: Padding
    /// The function applied to the result.
    public let activation: ActivationFunction
    /// Whether there is a bias.
    public let useBias: Bool
    /// How the kernel starts.
    public let kernelInitializer: Initializer
    /// How the bias starts.
    public let biasInitializer: Initializer

    init(filters: Int, padding: Padding, activation: ActivationFunction, useBias: Bool, kernelInitializer: Initializer,
         biasInitializer: Initializer, name: String?) {
        self.filters = filters
        self.padding = padding
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer
        super.init(name: name)
    }

    /// Keras' configuration: the shared fields with the window's (`kernel_size`, `strides`,
    /// `dilation_rate`, as lists).
    func config(kernelSize: [Int], strides: [Int], dilationRate: [Int]) -> [String: JSONValue] {
        ["filters": .number(Double(filters)), "kernel_size": WindowArguments.json(kernelSize),
         "strides": WindowArguments.json(strides), "padding": .string(padding.rawValue),
         "data_format": .string("channels_last"), "dilation_rate": WindowArguments.json(dilationRate),
         "activation": activation.config, "use_bias": .bool(useBias),
         "kernel_initializer": kernelInitializer.config, "bias_initializer": biasInitializer.config]
    }

    /// Checks the filters and the window's lists, then creates the kernel of `kernelShape`
    /// and the bias.
    func addKernelAndBias(_ kernelShape: [Int], window: KeyValuePairs<String, [Int]>) throws {
        guard filters > 0 else { throw KilnError(.invalidArgument, "filters must be positive, got \(filters)") }
        try WindowArguments.check(window)
        try addWeight("kernel", shape: kernelShape, initializer: kernelInitializer)
        if useBias { try addWeight("bias", shape: [filters], initializer: biasInitializer) }
    }

    /// Inputs of any size with the same channels: the filters do not depend on the size.
    override public func accepts(inputShapes shapes: [[Int]], builtFor built: [[Int]]) -> Bool {
        Layer.sameLastAxes(shapes, built, sameRank: true)
    }

    /// `activation(y + bias)`.
    func finish(_ y: Node, context: LayerContext) throws -> Node {
        try activation.apply(useBias ? y + context.variable(variables[1]) : y)
    }
}
