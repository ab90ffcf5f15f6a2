import KilnGraph

/// The largest value of each window of steps, per channel, as Keras' `MaxPooling1D`.
///
/// Shapes: input `[batch, steps, channels]`, output `[batch, outSteps, channels]`
/// (`strides` defaults to `poolSize`).
public final class MaxPooling1D: Pooling1D {}

/// The mean of each window of steps, per channel, as Keras' `AveragePooling1D`.
///
/// Shapes: as ``MaxPooling1D``.
public final class AveragePooling1D: Pooling1D {}

/// A 1-D pooling layer: ``MaxPooling1D`` or ``AveragePooling1D``, computed as the 2-D one on
/// a sequence seen as a one-row image.
public class Pooling1D: Layer {
    /// The window's length.
    public let poolSize: Int
    /// The step between windows.
    public let strides: Int
    /// How windows meet the sequence's ends.
    public let padding: Padding

    /// Windows of `poolSize` steps, `strides` apart (`poolSize` when `nil`).
    public init(poolSize: Int = 2, strides: Int? = nil, padding: Padding = .valid, name: String? = nil) {
        self.poolSize = poolSize
        self.strides = strides ?? poolSize
        self.padding = padding
        super.init(name: name)
    }

    override public var config: [String: JSONValue] {
        ["pool_size": WindowArguments.json([poolSize]), "strides": WindowArguments.json([strides]),
         "padding": .string(padding.rawValue), "data_format": .string("channels_last")]
    }

    override public func build(inputShapes: [[Int]]) throws {
        try WindowArguments.check(["pool_size": [poolSize, 1], "strides": [strides, 1]])
        try WindowArguments.requireTwoDimensional(padding)
        _ = try outputShape(inputShapes: inputShapes)
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        let sequence = try WindowArguments.image(inputShapes, rank: 1, Self.typeName)
        let window = PatchWindow(size: [1, poolSize], stride: [1, strides], padding: padding, imageSize: [1, sequence[0]])
        return [try WindowArguments.windows(window, image: [1, sequence[0]])[1], sequence[1]]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let x = inputs[0], shape = try outputShape(inputShapes: inputShapes(inputs))
        let image = try reshape(x, to: Shape([x.shape[0], 1, x.shape[1], x.shape[2]]))
        let pooled = self is AveragePooling1D
            ? try avgPool2d(image, size: [1, poolSize], stride: [1, strides], padding: padding)
            : try maxPool2d(image, size: [1, poolSize], stride: [1, strides], padding: padding)
        return try reshape(pooled, to: Shape([x.shape[0]] + shape.map { .size($0) }))
    }
}
