/// A handle to a node of a ``Graph``: what the builder functions take and return.
///
/// ```swift
/// let h = try relu(matmul(x, w1) + b1)
/// ```
public struct Node: Hashable, CustomStringConvertible {
    /// The graph the node belongs to.
    public let graph: Graph
    /// The node's position in the graph.
    public let id: NodeID

    /// A handle to node `id` of `graph`, which the caller knows exists.
    package init(graph: Graph, id: NodeID) {
        self.graph = graph
        self.id = id
    }

    /// The stored definition.
    public var definition: NodeDef { graph.nodes[id.index] }
    /// The operation.
    public var op: Op { definition.op }
    /// The result type.
    public var type: TensorType { definition.type }
    /// The result shape.
    public var shape: Shape { definition.type.shape }
    /// The result element type.
    public var dtype: DType { definition.type.dtype }
    /// The operands.
    public var inputs: [Node] { definition.inputs.map { Node(graph: graph, id: $0) } }

    /// The node's printer line, `%5 = matmul %3, %4 : f32[?,16]`.
    public var description: String { Printer.line(definition, id: id) }

    /// Whether both handles name the same node of the same graph.
    public static func == (a: Node, b: Node) -> Bool { a.graph === b.graph && a.id == b.id }

    /// Hashes the graph's identity and the node's position.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(graph))
        hasher.combine(id)
    }
}
