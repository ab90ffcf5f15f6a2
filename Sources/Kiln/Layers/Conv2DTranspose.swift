import KilnGraph

/// `activation(conv2dTranspose(x, kernel) + bias)`: the transposed 2-D convolution (the
/// gradient of a convolution with respect to its input), as Keras' `Conv2DTranspose`: it
/// enlarges images, `stride` times with `same` padding.
///
/// The kernel is `[kernelSize[0], kernelSize[1], filters, inputChannels]` (Keras' layout:
/// output channels before input channels) and the bias `[filters]`.
///
/// Shapes: input `[batch, height, width, channels]`, output `[batch, outHeight, outWidth,
/// filters]` with `outHeight = height · stride` for `same` padding and
/// `(height - 1) · stride + dilation · (kernel - 1) + 1` for `valid`.
public final class Conv2DTranspose: Layer {
    /// The output channels.
    public let filters: Int
    /// `[kh, kw]`.
    public let kernelSize: [Int]
    /// `[sh, sw]`.
    public let strides: [Int]
    /// How the windows of the forward convolution meet the output's edges.
    public let padding: Padding
    /// `[dh, dw]`.
    public let dilationRate: [Int]
    /// The function applied to the result.
    public let activation: ActivationFunction
    /// Whether there is a bias.
    public let useBias: Bool
    /// How the kernel starts.
    public let kernelInitializer: Initializer
    /// How the bias starts.
    public let biasInitializer: Initializer

    /// A transposed convolution with `filters` outputs and windows of `kernelSize`.
    public init(_ filters: Int, kernelSize: [Int], strides: [Int] = [1, 1], padding: Padding = .valid,
                dilationRate: [Int] = [1, 1], activation: ActivationFunction = .linear, useBias: Bool = true,
                kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros, name: String? = nil) {
        self.filters = filters
        self.kernelSize = WindowArguments.pair(kernelSize)
        self.strides = WindowArguments.pair(strides)
        self.padding = padding
        self.dilationRate = WindowArguments.pair(dilationRate)
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer
        super.init(name: name)
    }

    override public var config: [String: JSONValue] {
        ["filters": .number(Double(filters)), "kernel_size": WindowArguments.json(kernelSize),
         "strides": WindowArguments.json(strides), "padding": .string(padding.rawValue), "output_padding": .null,
         "data_format": .string("channels_last"), "dilation_rate": WindowArguments.json(dilationRate),
         "activation": activation.config, "use_bias": .bool(useBias),
         "kernel_initializer": kernelInitializer.config, "bias_initializer": biasInitializer.config]
    }

    /// The output's `[height, width]` for an input of `[h, w]`.
    private func outputSize(_ image: [Int]) -> [Int] {
        (0..<2).map { axis in
            padding == .same ? image[axis] * strides[axis]
                : (image[axis] - 1) * strides[axis] + dilationRate[axis] * (kernelSize[axis] - 1) + 1
        }
    }

    /// The forward convolution's windows over an output of `size`.
    private func window(_ size: [Int]) -> PatchWindow {
        PatchWindow(size: kernelSize, stride: strides, dilation: dilationRate, padding: padding, imageSize: size)
    }

    override public func build(inputShapes: [[Int]]) throws {
        let channels = try WindowArguments.image(inputShapes, rank: 2, Self.typeName)[2]
        guard filters > 0 else { throw KilnError(.invalidArgument, "filters must be positive, got \(filters)") }
        try WindowArguments.check(["kernel_size": kernelSize, "strides": strides, "dilation_rate": dilationRate])
        try WindowArguments.requireTwoDimensional(padding)
        _ = try outputShape(inputShapes: inputShapes)
        try addWeight("kernel", shape: kernelSize + [filters, channels], initializer: kernelInitializer)
        if useBias { try addWeight("bias", shape: [filters], initializer: biasInitializer) }
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        let image = try WindowArguments.image(inputShapes, rank: 2, Self.typeName)
        let size = outputSize(Array(image.prefix(2)))
        guard try WindowArguments.windows(window(size), image: size) == Array(image.prefix(2)) else {
            throw KilnError(.shapeMismatch, "a \(size[0])×\(size[1]) output does not give back the \(image[0])×\(image[1]) input")
        }
        return size + [filters]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let shape = try outputShape(inputShapes: inputShapes(inputs))
        let size = Array(shape.prefix(2))
        var y = try conv2dTranspose(inputs[0], context.variable(variables[0]), window: window(size), imageSize: size)
        if useBias { y = try y + context.variable(variables[1]) }
        return try activation.apply(y)
    }
}
