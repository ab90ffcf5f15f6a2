import KilnGraph

/// The elementwise sum of several inputs of the same shape.
///
/// Shapes: two or more inputs of one shape `[batch, ...]`, output that shape.
public final class Add: Layer {
    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        guard inputShapes.count >= 2 else { throw KilnError(.invalidArgument, "needs at least two inputs, got \(inputShapes.count)") }
        guard inputShapes.allSatisfy({ $0 == inputShapes[0] }) else {
            throw KilnError(.shapeMismatch, "inputs must have the same shape, got \(Layer.shapesText(inputShapes))")
        }
        return inputShapes[0]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        try inputs.dropFirst().reduce(inputs[0]) { try $0 + $1 }
    }
}
