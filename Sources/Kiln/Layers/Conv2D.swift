import KilnGraph

/// `activation(conv2d(x, kernel) + bias)`: a 2-D convolution over images, as Keras' `Conv2D`.
///
/// The kernel is `[kernelSize[0], kernelSize[1], inputChannels, filters]` (Glorot uniform by
/// default) and the bias `[filters]` (zeros), Keras' layout. Images are channels-last.
///
/// Shapes: input `[batch, height, width, channels]`, output `[batch, outHeight, outWidth,
/// filters]` with `outHeight = ceil(height / stride)` for `same` padding and
/// `(height - dilation·(kernel - 1) - 1) / stride + 1` for `valid`.
public final class Conv2D: Convolution {
    /// `[kh, kw]`.
    public let kernelSize: [Int]
    /// `[sh, sw]`.
    public let strides: [Int]
    /// `[dh, dw]`: the spacing of a window's cells.
    public let dilationRate: [Int]

    /// A convolution with `filters` outputs and windows of `kernelSize` (one number for a
    /// square window, or `[kh, kw]`).
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
        config(kernelSize: kernelSize, strides: strides, dilationRate: dilationRate)
    }

    override public func build(inputShapes: [[Int]]) throws {
        let channels = try WindowArguments.image(inputShapes, rank: 2, Self.typeName)[2]
        try WindowArguments.requireTwoDimensional(padding)
        try addKernelAndBias(kernelSize + [channels, filters],
                             window: ["kernel_size": kernelSize, "strides": strides, "dilation_rate": dilationRate])
        _ = try outputShape(inputShapes: inputShapes)
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        let image = try WindowArguments.image(inputShapes, rank: 2, Self.typeName)
        let window = PatchWindow(size: kernelSize, stride: strides, dilation: dilationRate, padding: padding,
                                 imageSize: Array(image.prefix(2)))
        return try WindowArguments.windows(window, image: image) + [filters]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        try finish(conv2d(inputs[0], context.variable(variables[0]), stride: strides, padding: padding, dilation: dilationRate),
                   context: context)
    }
}

/// The arguments windowed layers share, checked and saved as Keras does.
enum WindowArguments {
    /// `[n, n]` for a single `n`, the list otherwise.
    static func pair(_ values: [Int]) -> [Int] { values.count == 1 ? [values[0], values[0]] : values }

    /// A JSON list of integers.
    static func json(_ values: [Int]) -> JSONValue { .array(values.map { .number(Double($0)) }) }

    /// Throws unless each list has two values of at least 1.
    static func check(_ lists: KeyValuePairs<String, [Int]>) throws {
        for (name, values) in lists where values.count != 2 || values.contains(where: { $0 < 1 }) {
            throw KilnError(.invalidArgument, "\(name) needs one or two values of at least 1, got \(values)")
        }
    }

    /// The per-sample shape `[h, w, c]` (rank 2: images) or `[length, c]` (rank 1: sequences) of
    /// the single input.
    static func image(_ inputShapes: [[Int]], rank: Int, _ type: String) throws -> [Int] {
        guard inputShapes.count == 1 else { throw KilnError(.invalidArgument, "takes one input, got \(inputShapes.count)") }
        let shape = inputShapes[0]
        guard shape.count == rank + 1, shape.allSatisfy({ $0 >= 1 }) else {
            let expected = rank == 2 ? "images [height, width, channels]" : "sequences [steps, channels]"
            throw KilnError(.shapeMismatch, "\(type) expects \(expected) per sample, got \(Layer.shapesText([shape]))")
        }
        return shape
    }

    /// Throws for `causal` padding, which only 1-D layers take.
    static func requireTwoDimensional(_ padding: Padding) throws {
        guard padding != .causal else { throw KilnError(.invalidArgument, "causal padding is for Conv1D; use valid or same") }
    }

    /// `[oh, ow]` of `window` over `image` (`[h, w, ...]`), or an error saying it does not fit.
    static func windows(_ window: PatchWindow, image: [Int]) throws -> [Int] {
        let oh = window.count(0, length: image[0]), ow = window.count(1, length: image[1])
        guard oh >= 1, ow >= 1 else {
            throw KilnError(.shapeMismatch,
                            "a window spanning \(window.span(0))×\(window.span(1)) cells does not fit the "
                            + "\(image[0])×\(image[1]) input (padding \(window.padLow[0] + window.padHigh[0])×"
                            + "\(window.padLow[1] + window.padHigh[1]))")
        }
        return [oh, ow]
    }
}
