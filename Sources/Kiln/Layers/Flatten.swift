import KilnGraph

/// Flattens each sample to one axis.
///
/// Shapes: input `[batch, d1, d2, ...]`, output `[batch, d1 * d2 * ...]`.
public final class Flatten: Layer {
    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        try requireSingleInput(inputShapes)
        guard let count = Shape.product(inputShapes[0]) else {
            throw KilnError(.shapeMismatch, "the element count of \(inputShapes[0]) overflows")
        }
        return [count]
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        try reshape(inputs[0], to: Shape([.batch] + outputShape(inputShapes: inputShapes(inputs)).map { .size($0) }))
    }
}
