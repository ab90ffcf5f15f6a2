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
