import KilnGraph

/// Gives each sample another shape with the same number of elements; one size may be `-1`.
///
/// Shapes: input `[batch, ...]`, output `[batch] + targetShape` (the `-1` worked out).
public final class Reshape: Layer {
    /// The target shape of a sample, possibly with one `-1`.
    public let targetShape: [Int]

    /// A layer reshaping each sample to `targetShape`.
    public init(_ targetShape: [Int], name: String? = nil) {
        self.targetShape = targetShape
        super.init(name: name)
    }

    override public var config: [String: JSONValue] { ["target_shape": .ints(targetShape)] }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        try requireSingleInput(inputShapes)
        let unknown = targetShape.filter { $0 == -1 }.count
        let known = targetShape.filter { $0 != -1 }
        guard unknown <= 1, known.allSatisfy({ $0 > 0 }) else {
            throw KilnError(.invalidArgument, "target shape \(targetShape) must have positive sizes and at most one -1")
        }
        guard let count = Shape.product(inputShapes[0]), let product = Shape.product(known) else {
            throw KilnError(.shapeMismatch, "cannot reshape \(inputShapes[0]) to \(targetShape): the element count overflows")
        }
        if unknown == 1 {
            guard count % product == 0 else {
                throw KilnError(.shapeMismatch, "cannot reshape \(inputShapes[0]) (\(count) elements) to \(targetShape)")
            }
            return targetShape.map { $0 == -1 ? count / product : $0 }
        }
        guard product == count else {
            throw KilnError(.shapeMismatch, "cannot reshape \(inputShapes[0]) (\(count) elements) to \(targetShape)")
        }
        return targetShape
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let shape = try outputShape(inputShapes: inputShapes(inputs))
        return try reshape(inputs[0], to: Shape([.batch] + shape.map { .size($0) }))
    }
}
