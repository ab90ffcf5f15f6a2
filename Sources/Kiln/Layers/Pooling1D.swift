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

/// The mean over each sequence's steps, per channel, as Keras' `GlobalAveragePooling1D`.
///
/// Shapes: input `[batch, steps, channels]`, output `[batch, channels]` (or `[batch, 1,
/// channels]` with `keepDims`).
public final class GlobalAveragePooling1D: GlobalPooling1D {}

/// The largest value over each sequence's steps, per channel, as Keras' `GlobalMaxPooling1D`.
///
/// Shapes: as ``GlobalAveragePooling1D``.
public final class GlobalMaxPooling1D: GlobalPooling1D {}

/// A global 1-D pooling layer: ``GlobalAveragePooling1D`` or ``GlobalMaxPooling1D``.
public class GlobalPooling1D: Layer {
    /// Whether the output keeps the pooled axis, with length 1.
    public let keepDims: Bool

    /// A global pooling layer.
    public init(keepDims: Bool = false, name: String? = nil) {
        self.keepDims = keepDims
        super.init(name: name)
    }

    override public var config: [String: JSONValue] { ["keepdims": .bool(keepDims), "data_format": .string("channels_last")] }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        let sequence = try WindowArguments.image(inputShapes, rank: 1, Self.typeName)
        return keepDims ? [1, sequence[1]] : [sequence[1]]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        _ = try outputShape(inputShapes: inputShapes(inputs))
        if self is GlobalMaxPooling1D { return try max(inputs[0], axes: [1], keepDims: keepDims) }
        return try mean(inputs[0], axes: [1], keepDims: keepDims)
    }
}
