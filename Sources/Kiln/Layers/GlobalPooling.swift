import KilnGraph

/// The mean over each sequence's steps, per channel, as Keras' `GlobalAveragePooling1D`.
///
/// Shapes: input `[batch, steps, channels]`, output `[batch, channels]` (or `[batch, 1,
/// channels]` with `keepDims`).
public final class GlobalAveragePooling1D: GlobalPooling {
    override class var spatialRank: Int { 1 }
}

/// The largest value over each sequence's steps, per channel, as Keras' `GlobalMaxPooling1D`.
///
/// Shapes: as ``GlobalAveragePooling1D``.
public final class GlobalMaxPooling1D: GlobalPooling {
    override class var spatialRank: Int { 1 }
    override class var takesMaximum: Bool { true }
}

/// The mean over each image's height and width, per channel, as Keras'
/// `GlobalAveragePooling2D`.
///
/// Shapes: input `[batch, height, width, channels]`, output `[batch, channels]` (or
/// `[batch, 1, 1, channels]` with `keepDims`).
public final class GlobalAveragePooling2D: GlobalPooling {}

/// The largest value over each image's height and width, per channel, as Keras'
/// `GlobalMaxPooling2D`.
///
/// Shapes: as ``GlobalAveragePooling2D``.
public final class GlobalMaxPooling2D: GlobalPooling {
    override class var takesMaximum: Bool { true }
}

/// A global pooling layer: the mean or the largest value over every axis but the batch and
/// the channels.
public class GlobalPooling: Layer {
    /// Whether the output keeps the pooled axes, with length 1.
    public let keepDims: Bool

    /// The pooled axes: 1 for sequences, 2 for images.
    class var spatialRank: Int { 2 }
    /// Whether the layer takes the largest value rather than the mean.
    class var takesMaximum: Bool { false }

    /// A global pooling layer.
    public init(keepDims: Bool = false, name: String? = nil) {
        self.keepDims = keepDims
        super.init(name: name)
    }

    override public var config: [String: JSONValue] { ["keepdims": .bool(keepDims), "data_format": .string("channels_last")] }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        let shape = try WindowArguments.image(inputShapes, rank: Self.spatialRank, Self.typeName)
        return (keepDims ? Array(repeating: 1, count: Self.spatialRank) : []) + [shape[Self.spatialRank]]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        _ = try outputShape(inputShapes: inputShapes(inputs))
        let axes = Array(1...Self.spatialRank)
        return Self.takesMaximum ? try max(inputs[0], axes: axes, keepDims: keepDims) : try mean(inputs[0], axes: axes, keepDims: keepDims)
    }
}
