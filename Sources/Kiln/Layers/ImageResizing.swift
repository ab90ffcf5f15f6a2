import KilnGraph

/// Rows and columns of zeros around each image, as Keras' `ZeroPadding2D`.
///
/// Shapes: input `[batch, height, width, channels]`, output `[batch, top + height + bottom,
/// left + width + right, channels]`.
public final class ZeroPadding2D: Layer {
    /// `[[top, bottom], [left, right]]`.
    public let padding: [[Int]]

    /// `padding` rows and columns on every side.
    public convenience init(_ padding: Int = 1, name: String? = nil) {
        self.init(padding: [[padding, padding], [padding, padding]], name: name)
    }

    /// `[[top, bottom], [left, right]]`.
    public init(padding: [[Int]], name: String? = nil) {
        self.padding = padding
        super.init(name: name)
    }

    override public var config: [String: JSONValue] {
        ["padding": .array(padding.map(WindowArguments.json)), "data_format": .string("channels_last")]
    }

    override public func build(inputShapes: [[Int]]) throws {
        guard padding.count == 2, padding.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0 >= 0 } }) else {
            throw KilnError(.invalidArgument, "padding needs [[top, bottom], [left, right]] of at least 0, got \(padding)")
        }
        _ = try outputShape(inputShapes: inputShapes)
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        let image = try WindowArguments.image(inputShapes, rank: 2, Self.typeName)
        return [image[0] + padding[0][0] + padding[0][1], image[1] + padding[1][0] + padding[1][1], image[2]]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        try pad(inputs[0], low: [0, padding[0][0], padding[1][0], 0], high: [0, padding[0][1], padding[1][1], 0])
    }
}

/// Each pixel repeated `size` times down and across, as Keras' `UpSampling2D` with its
/// default `nearest` interpolation.
///
/// Shapes: input `[batch, height, width, channels]`, output `[batch, height · size[0],
/// width · size[1], channels]`.
public final class UpSampling2D: Layer {
    /// `[rows, columns]`: the times each pixel is repeated.
    public let size: [Int]
    /// `nearest`, the only interpolation Kiln computes.
    public let interpolation: String

    /// Pixels repeated `size` times (one number for both axes).
    public init(size: [Int] = [2, 2], interpolation: String = "nearest", name: String? = nil) {
        self.size = WindowArguments.pair(size)
        self.interpolation = interpolation
        super.init(name: name)
    }

    override public var config: [String: JSONValue] {
        ["size": WindowArguments.json(size), "interpolation": .string(interpolation), "data_format": .string("channels_last")]
    }

    override public func build(inputShapes: [[Int]]) throws {
        try WindowArguments.check(["size": size])
        guard interpolation == "nearest" else {
            throw KilnError(.invalidArgument, "interpolation \(String(reflecting: interpolation)) is not supported; Kiln computes nearest")
        }
        _ = try outputShape(inputShapes: inputShapes)
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        let image = try WindowArguments.image(inputShapes, rank: 2, Self.typeName)
        return [image[0] * size[0], image[1] * size[1], image[2]]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let x = inputs[0], image = try WindowArguments.image(inputShapes(inputs), rank: 2, Self.typeName)
        let (h, w, c) = (Dim.size(image[0]), Dim.size(image[1]), Dim.size(image[2]))
        let spread = try broadcast(reshape(x, to: Shape([x.shape[0], h, 1, w, 1, c])),
                                   to: Shape([x.shape[0], h, .size(size[0]), w, .size(size[1]), c]))
        return try reshape(spread, to: Shape([x.shape[0], .size(image[0] * size[0]), .size(image[1] * size[1]), c]))
    }
}

/// Drops whole channels of each image during training (a fraction `rate` of them, the rest
/// scaled by `1 / (1 - rate)`), as Keras' `SpatialDropout2D`: neighbouring pixels are
/// correlated, so dropping single pixels would regularise little.
///
/// Shapes: output the shape of the input `[batch, height, width, channels]`.
public final class SpatialDropout2D: Layer {
    /// The fraction of channels dropped, in `[0, 1)`.
    public let rate: Float

    /// A spatial dropout layer dropping `rate` of the channels.
    public init(_ rate: Float, name: String? = nil) {
        self.rate = rate
        super.init(name: name)
    }

    override public var config: [String: JSONValue] { ["rate": .number(Double(rate)), "data_format": .string("channels_last")] }

    override public func build(inputShapes: [[Int]]) throws {
        _ = try WindowArguments.image(inputShapes, rank: 2, Self.typeName)
        guard rate >= 0 && rate < 1 else { throw KilnError(.invalidArgument, "rate must be in [0, 1), got \(rate)") }
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let x = inputs[0]
        return try context.dropout(x, rate: rate, maskShape: Shape([x.shape[0], 1, 1, x.shape[3]]))
    }
}
