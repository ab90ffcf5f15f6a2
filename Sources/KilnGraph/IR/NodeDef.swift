/// The position of a node in its graph, printed `%5`.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The index in ``Graph/nodes``.
    public let index: Int

    /// The node at `index`.
    public init(_ index: Int) { self.index = index }

    /// Graph order: earlier nodes first.
    public static func < (a: NodeID, b: NodeID) -> Bool { a.index < b.index }

    /// `%5`.
    public var description: String { "%\(index)" }
}

/// One node as a graph stores it: its operation, the nodes it reads, and its result type.
public struct NodeDef: Hashable, Sendable {
    /// The operation.
    public var op: Op
    /// The operands, each defined earlier in the graph.
    public var inputs: [NodeID]
    /// The result type.
    public var type: TensorType

    /// A node definition.
    public init(op: Op, inputs: [NodeID], type: TensorType) {
        self.op = op
        self.inputs = inputs
        self.type = type
    }
}

extension NodeDef {
    /// Whether the node's value depends on the batch size: its shape has a batch dimension,
    /// or it counts elements of a shape that has one.
    public var usesBatch: Bool {
        if case .elementCount(let shape) = op, shape.hasBatch { return true }
        return type.shape.hasBatch
    }
}

extension Array where Element == NodeDef {
    /// `result[i]` is true when node `i` (of nodes in graph order) is one of `roots` or an
    /// operand of one, transitively, not looking past the nodes `stop` is true for (which are
    /// reached themselves).
    package func reached(from roots: some Sequence<NodeID>, stoppingAt stop: (NodeID) -> Bool = { _ in false }) -> [Bool] {
        var reached = [Bool](repeating: false, count: count)
        for root in roots { reached[root.index] = true }
        for index in stride(from: count - 1, through: 0, by: -1) where reached[index] && !stop(NodeID(index)) {
            for input in self[index].inputs { reached[input.index] = true }
        }
        return reached
    }
}
