import KilnGraph

/// Joins several inputs along an axis (the last by default; the batch axis is 0).
///
/// Shapes: inputs equal but along `axis`, output the sum of their sizes along it.
public final class Concatenate: Layer {
    /// The axis, counting the batch axis as 0; negative counts from the end.
    public let axis: Int

    /// A layer joining its inputs along `axis`.
    public init(axis: Int = -1, name: String? = nil) {
        self.axis = axis
        super.init(name: name)
    }

    override public var config: [String: JSONValue] { ["axis": .number(Double(axis))] }

    /// The axis within a sample (without the batch axis).
    private func sampleAxis(rank: Int) throws -> Int {
        let full = axis < 0 ? axis + rank + 1 : axis
        guard full >= 1 && full <= rank else {
            throw KilnError(.invalidArgument, "axis \(axis) is out of range for inputs of rank \(rank + 1) (0 is the batch axis)")
        }
        return full - 1
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        guard inputShapes.count >= 2 else { throw KilnError(.invalidArgument, "needs at least two inputs, got \(inputShapes.count)") }
        let rank = inputShapes[0].count
        let k = try sampleAxis(rank: rank)
        for shape in inputShapes {
            guard shape.count == rank, shape.indices.allSatisfy({ $0 == k || shape[$0] == inputShapes[0][$0] }) else {
                throw KilnError(.shapeMismatch, "inputs \(Layer.shapesText(inputShapes)) differ outside axis \(axis)")
            }
        }
        var result = inputShapes[0]
        result[k] = inputShapes.reduce(0) { $0 + $1[k] }
        return result
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        try concatenate(inputs, axis: sampleAxis(rank: inputs[0].shape.rank - 1) + 1)
    }
}
