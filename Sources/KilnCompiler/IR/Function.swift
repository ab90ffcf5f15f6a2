import KilnGraph

/// What the compiler transforms: a graph, the nodes whose values a program returns, and
/// what the fusion and memory-planning passes decided about it.
///
/// Every pass is a pure function from one `Function` to the next. The rewriting passes
/// (folding, simplification, CSE, DCE) build a new graph; the fusion passes assign nodes to
/// kernel groups; memory planning gives each materialised value a place in the arena.
public struct Function {
    /// The graph, in topological order.
    public var graph: Graph
    /// The named results, by name.
    public var outputs: [String: NodeID]
    /// The kernel group of each node, once fusion has run (`nil` for nodes outside any group).
    public var groups: [Int?]
    /// Where each materialised value lives, once memory planning has run.
    public var memory: MemoryPlan?
    /// Patches nodes no kernel writes: their readers, matrix products, read the windows from
    /// the image itself (``FuseWindowsIntoMatmul``).
    public var windowed: Set<NodeID> = []
    /// Matrix products that read the windows of a `patches` node in place from its image (a
    /// forward product, a training step's filter gradient), whether the windows are written
    /// for another reader or not (``FuseWindowsIntoMatmul``).
    public var windowReaders: Set<NodeID> = []
    /// Matrix products with no kernel of their own: the `fold_patches` that reads them computes
    /// them tile by tile and folds each tile into its images (``FuseProductIntoFold``). Their
    /// memory is that kernel's scratch.
    public var foldedProducts: Set<NodeID> = []
    /// Extremum gradients no kernel writes: the kernel of the filter gradient that reads them
    /// makes them pixel by pixel and sums them into the filter's and the bias's gradients
    /// (``FusePoolingGradientIntoFilterGradient``).
    public var pooledGradients: [NodeID: PooledGradient] = [:]

    /// A function computing `outputs` of `graph` (and running all of its assigns).
    ///
    /// - Throws: ``KilnError`` if an output belongs to another graph.
    public init(graph: Graph, outputs: [String: Node]) throws {
        var ids: [String: NodeID] = [:]
        for (name, node) in outputs {
            guard node.graph === graph else {
                throw KilnError(.invalidArgument, "output \(String(reflecting: name)) is a node of another graph")
            }
            ids[name] = node.id
        }
        self.init(graph: graph, outputIDs: ids)
    }

    /// A function from a graph and output node ids known to be in it.
    package init(graph: Graph, outputIDs: [String: NodeID]) {
        self.graph = graph
        self.outputs = outputIDs
        self.groups = []
        self.memory = nil
    }

    /// The nodes.
    public var nodes: [NodeDef] { graph.nodes }

    /// The node whose memory a kernel reads for `id`: its alias root, or for windows a
    /// matrix product gathers itself, the image's.
    public func memoryRoot(_ id: NodeID) -> NodeID {
        let root = aliasRoot(id)
        return windowed.contains(root) ? memoryRoot(nodes[root.index].inputs[0]) : root
    }

    /// The `patches` node whose windows the matrix product `product` reads from the image
    /// itself, if it is one of ``windowReaders``.
    public func imageWindows(readBy product: NodeID) -> NodeID? {
        guard windowReaders.contains(product) else { return nil }
        return aliasRoot(nodes[product.index].inputs[0])
    }

    /// The product the `fold_patches` node `fold` computes itself, if it is one of
    /// ``foldedProducts``.
    public func foldedProduct(readBy fold: NodeID) -> NodeID? {
        guard case .foldPatches = nodes[fold.index].op else { return nil }
        let product = aliasRoot(nodes[fold.index].inputs[0])
        return foldedProducts.contains(product) ? product : nil
    }

    /// The group of node `id`, if fusion put it in one.
    public func group(of id: NodeID) -> Int? { groups.isEmpty ? nil : groups[id.index] }

    /// The nodes every result and assign depends on are live; each entry says whether node `i` is.
    package var liveness: [Bool] {
        let assigns = nodes.indices.filter { if case .assign = nodes[$0].op { return true } else { return false } }
        return nodes.reached(from: Array(outputs.values) + assigns.map(NodeID.init))
    }

    /// For each node, the nodes that read it, in order.
    package var consumers: [[NodeID]] {
        var result = [[NodeID]](repeating: [], count: nodes.count)
        for (index, node) in nodes.enumerated() {
            for input in node.inputs where result[input.index].last != NodeID(index) {
                result[input.index].append(NodeID(index))
            }
        }
        return result
    }

    /// For each node, how many times it is read: once per operand that names it (a node may
    /// name it twice), and once more if it is a result.
    package var readCounts: [Int] { Self.readCounts(nodes, results: outputs.values) }

    /// ``readCounts`` of any list of nodes (a loop's body) and its results.
    package static func readCounts(_ nodes: [NodeDef], results: some Sequence<NodeID>) -> [Int] {
        var counts = [Int](repeating: 0, count: nodes.count)
        for node in nodes { for input in node.inputs { counts[input.index] += 1 } }
        for id in results { counts[id.index] += 1 }
        return counts
    }

    /// The nodes that are results or values written by assigns: they must be kept in memory.
    package var results: Set<NodeID> {
        var ids = Set(outputs.values)
        for node in nodes {
            if case .assign = node.op { ids.insert(node.inputs[1]) }
        }
        return ids
    }
}
