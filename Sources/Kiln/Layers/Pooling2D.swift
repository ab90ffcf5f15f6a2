import KilnGraph

/// The largest value of each window, per channel, as Keras' `MaxPooling2D`.
///
/// Shapes: input `[batch, height, width, channels]`, output `[batch, outHeight, outWidth,
/// channels]` (see ``Conv2D`` for the sizes; `strides` defaults to `poolSize`).
public final class MaxPooling2D: Pooling2D {}

/// The mean of each window, per channel, as Keras' `AveragePooling2D`; with `same` padding an
/// edge window averages only its cells inside the image.
///
/// Shapes: as ``MaxPooling2D``.
public final class AveragePooling2D: Pooling2D {}

/// A 2-D pooling layer: ``MaxPooling2D`` or ``AveragePooling2D``.
public class Pooling2D: Layer {
    /// `[ph, pw]`.
    public let poolSize: [Int]
    /// `[sh, sw]`.
    public let strides: [Int]
    /// How windows meet the image's edges.
    public let padding: Padding

    /// Windows of `poolSize` (one number for a square), `strides` apart (`poolSize` when `nil`).
    public init(poolSize: [Int] = [2, 2], strides: [Int]? = nil, padding: Padding = .valid, name: String? = nil) {
        self.poolSize = WindowArguments.pair(poolSize)
        self.strides = WindowArguments.pair(strides ?? poolSize)
        self.padding = padding
        super.init(name: name)
    }

    override public var config: [String: JSONValue] {
        ["pool_size": WindowArguments.json(poolSize), "strides": WindowArguments.json(strides),
         "padding": .string(padding.rawValue), "data_format": .string("channels_last")]
    }

    override public func build(inputShapes: [[Int]]) throws {
        try WindowArguments.check(["pool_size": poolSize, "strides": strides])
        try WindowArguments.requireTwoDimensional(padding)
        _ = try outputShape(inputShapes: inputShapes)
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        let image = try WindowArguments.image(inputShapes, rank: 2, Self.typeName)
        let window = PatchWindow(size: poolSize, stride: strides, padding: padding, imageSize: Array(image.prefix(2)))
        return try WindowArguments.windows(window, image: image) + [image[2]]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        if self is AveragePooling2D { return try avgPool2d(inputs[0], size: poolSize, stride: strides, padding: padding) }
        return try maxPool2d(inputs[0], size: poolSize, stride: strides, padding: padding)
    }
}
