import KilnGraph

/// Sets a fraction `rate` of the inputs to zero during training and scales the rest by
/// `1 / (1 - rate)`; passes inputs through unchanged otherwise.
///
/// The mask comes from the graph's counter-based generator, so both backends draw the same one.
///
/// Shapes: output the shape of the input.
public final class Dropout: Layer {
    /// The fraction of inputs dropped, in `[0, 1)`.
    public let rate: Float

    /// A dropout layer dropping `rate` of its inputs.
    public init(_ rate: Float, name: String? = nil) {
        self.rate = rate
        super.init(name: name)
    }

    override public var config: [String: JSONValue] { ["rate": .number(Double(rate))] }

    override public func build(inputShapes: [[Int]]) throws {
        try requireSingleInput(inputShapes)
        guard rate >= 0 && rate < 1 else { throw KilnError(.invalidArgument, "rate must be in [0, 1), got \(rate)") }
    }

    /// The input's mask, unchanged: the steps are the same.
    override public func computeMask(_ inputs: [Node], masks: [Node?]) throws -> Node? { masks.first ?? nil }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        try context.dropout(inputs[0], rate: rate, maskShape: inputs[0].shape)
    }
}
