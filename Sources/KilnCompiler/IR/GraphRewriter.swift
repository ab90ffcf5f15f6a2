import KilnGraph

/// Builds the graph a rewriting pass produces: nodes are copied over in order, each old
/// node mapped to the new node that replaces it.
struct GraphRewriter {
    let source: Function
    private(set) var nodes: [NodeDef] = []
    private(set) var map: [NodeID] = []

    init(_ source: Function) {
        self.source = source
        nodes.reserveCapacity(source.nodes.count)
        map.reserveCapacity(source.nodes.count)
    }

    /// The source node `id` with its inputs mapped to the new graph.
    func remapped(_ id: NodeID) -> NodeDef {
        var node = source.nodes[id.index]
        node.inputs = node.inputs.map { map[$0.index] }
        return node
    }

    /// The new node standing for source node `old`.
    func mapped(_ old: NodeID) -> NodeID { map[old.index] }

    /// The definition of a node already in the new graph.
    func node(_ id: NodeID) -> NodeDef { nodes[id.index] }

    /// Appends `node` to the new graph.
    mutating func append(_ node: NodeDef) -> NodeID {
        nodes.append(node)
        return NodeID(nodes.count - 1)
    }

    /// Records that the next source node is replaced by `id` of the new graph.
    mutating func map(to id: NodeID) { map.append(id) }

    /// The rewritten function (groups and memory plans do not survive a rewrite).
    func finish() -> Function {
        let graph = Graph(unverifiedNodes: nodes, initialValues: source.graph.initialValues)
        return Function(graph: graph, outputIDs: source.outputs.mapValues { map[$0.index] })
    }
}
