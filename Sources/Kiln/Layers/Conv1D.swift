import KilnGraph

/// `activation(conv1d(x, kernel) + bias)`: a 1-D convolution over sequences, as Keras' `Conv1D`.
///
/// The kernel is `[kernelSize, inputChannels, filters]` (Glorot uniform by default) and the
/// bias `[filters]`, Keras' layout. `causal` padding pads the start of the sequence only.
///
/// Shapes: input `[batch, steps, channels]`, output `[batch, outSteps, filters]`.
public final class Conv1D: Convolution {
    /// The window's length.
    public let kernelSize: Int
    /// The step between windows.
    public let strides: Int
    /// The spacing of a window's cells.
    public let dilationRate: Int

    /// A convolution with `filters` outputs and windows of `kernelSize` steps.
    public init(_ filters: Int, kernelSize: Int, strides: Int = 1, padding: Padding = .valid, dilationRate: Int = 1,
                activation: ActivationFunction = .linear, useBias: Bool = true, kernelInitializer: Initializer = .glorotUniform,
                biasInitializer: Initializer = .zeros, kernelRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                activityRegularizer: Regularizer? = nil, kernelConstraint: Constraint? = nil, biasConstraint: Constraint? = nil,
                name: String? = nil) {
        self.kernelSize = kernelSize
        self.strides = strides
        self.dilationRate = dilationRate
        super.init(filters: filters, padding: padding, activation: activation, useBias: useBias,
                   kernelInitializer: kernelInitializer, biasInitializer: biasInitializer, name: name)
        regularize(kernel: (kernelRegularizer, kernelConstraint), bias: (biasRegularizer, biasConstraint),
                   activity: activityRegularizer)
    }

    override public var config: [String: JSONValue] {
        config(kernelSize: [kernelSize], strides: [strides], dilationRate: [dilationRate])
    }

    /// The window over a sequence of `steps` seen as a one-row image.
    private func window(steps: Int) -> PatchWindow {
        PatchWindow(size: [1, kernelSize], stride: [1, strides], dilation: [1, dilationRate], padding: padding,
                    imageSize: [1, steps])
    }

    override public func build(inputShapes: [[Int]]) throws {
        let channels = try WindowArguments.image(inputShapes, rank: 1, Self.typeName)[1]
        try addKernelAndBias([kernelSize, channels, filters],
                             window: ["kernel_size": [kernelSize, 1], "strides": [strides, 1], "dilation_rate": [dilationRate, 1]])
        _ = try outputShape(inputShapes: inputShapes)
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
        let y = try reshape(conv2d(image, kernel, window: window(steps: length)), to: Shape([x.shape[0], .size(steps), .size(filters)]))
        return try finish(y, context: context)
    }
}
