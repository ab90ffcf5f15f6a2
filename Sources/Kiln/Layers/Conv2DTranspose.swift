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
public final class Conv2DTranspose: Convolution {
    /// `[kh, kw]`.
    public let kernelSize: [Int]
    /// `[sh, sw]`.
    public let strides: [Int]
    /// `[dh, dw]`.
    public let dilationRate: [Int]

    /// A transposed convolution with `filters` outputs and windows of `kernelSize`.
    public init(_ filters: Int, kernelSize: [Int], strides: [Int] = [1, 1], padding: Padding = .valid,
                dilationRate: [Int] = [1, 1], activation: ActivationFunction = .linear, useBias: Bool = true,
                kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
                kernelRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                activityRegularizer: Regularizer? = nil, kernelConstraint: Constraint? = nil, biasConstraint: Constraint? = nil,
                name: String? = nil) {
        self.kernelSize = WindowArguments.pair(kernelSize)
        self.strides = WindowArguments.pair(strides)
        self.dilationRate = WindowArguments.pair(dilationRate)
        super.init(filters: filters, padding: padding, activation: activation, useBias: useBias,
                   kernelInitializer: kernelInitializer, biasInitializer: biasInitializer, name: name)
        regularize(kernel: (kernelRegularizer, kernelConstraint), bias: (biasRegularizer, biasConstraint),
                   activity: activityRegularizer)
    }

    override public var config: [String: JSONValue] {
        config(kernelSize: kernelSize, strides: strides, dilationRate: dilationRate).merging(["output_padding": .null]) { $1 }
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
        try WindowArguments.requireTwoDimensional(padding)
        try addKernelAndBias(kernelSize + [filters, channels],
                             window: ["kernel_size": kernelSize, "strides": strides, "dilation_rate": dilationRate])
        _ = try outputShape(inputShapes: inputShapes)
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
        let size = Array(try outputShape(inputShapes: inputShapes(inputs)).prefix(2))
        return try finish(conv2dTranspose(inputs[0], context.variable(variables[0]), window: window(size), imageSize: size),
                          context: context)
    }
}
