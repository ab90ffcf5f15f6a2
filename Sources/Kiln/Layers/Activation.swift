import KilnGraph

/// Applies an activation function (Keras' `Activation`).
///
/// Shapes: output the shape of the input.
public final class Activation: Layer {
    /// The function.
    public let function: ActivationFunction

    /// A layer applying `function`.
    public init(_ function: ActivationFunction, name: String? = nil) {
        self.function = function
        super.init(name: name)
    }

    override public var config: [String: JSONValue] { ["activation": function.config] }

    /// The input's mask, unchanged: the steps are the same.
    override public func computeMask(_ inputs: [Node], masks: [Node?]) throws -> Node? { masks.first ?? nil }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node { try function.apply(inputs[0]) }
}
