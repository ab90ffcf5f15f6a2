import KilnGraph

/// Windows fused into their product: a `patches` node whose only reader (through reshapes)
/// is the left operand of a matrix product with a narrow right operand (a convolution's
/// forward pass in a program that does not also take the filter's gradient) is not written
/// to memory; the product gathers blocks of window rows from the image where the cache holds
/// them (`kiln_gemm_windows`). The window rows of a 3×3 convolution are nine times the image
/// they come from, so writing and reading them back costs as much as the product itself on
/// small batches. A training step reads them twice, in that product and in the filter's
/// gradient; each reads them from the image (``Function/windowReaders``: the forward
/// product with the same bits, the gradient through `kiln_gemm_windows_t`), and the windows
/// are not written either. Runs after the fusion passes, before memory planning.
public enum FuseWindowsIntoMatmul {
    /// The widest and deepest right operand (`[k, n]`, the filters) the product gathers windows
    /// for: the products `kiln_gemm` runs with Kiln's own narrow kernel, whose blocks of a
    /// few rows cost no packing.
    public static let widest = 64, deepest = 1024

    /// The pass.
    public static func run(_ function: Function) -> Function {
        let consumers = function.consumers
        let results = function.results
        var result = function
        for (index, node) in function.nodes.enumerated() {
            let id = NodeID(index)
            guard case .patches = node.op, node.type.dtype == .float32, function.group(of: id) == nil else { continue }
            // Each product reads the windows in place, from the image in the cache, instead of
            // from rows written out nine times its size for a 3×3 window: a forward product, and
            // in a training step the filter's gradient too (the transposed product with the
            // output's gradient, summed over the batch). When every reader does, and the
            // windows are no result, no kernel writes them at all.
            let readers = readers(of: id, consumers: consumers, results: results, in: function)
            let inPlace = readers.filter { reader in
                reads(function.nodes[reader.index], windows: id, in: function)
                    || readsTransposed(reader, windows: id, consumers: consumers, in: function)
            }
            result.windowReaders.formUnion(inPlace)
            if !inPlace.isEmpty && inPlace.count == readers.count && !results.contains(id) { result.windowed.insert(id) }
        }
        return result
    }

    /// Whether `product` is the transposed product of the window rows (its left operand) and
    /// a narrow matrix, stacked by image and summed over the stack in a kernel of its own: a
    /// filter's gradient, which `kiln_gemm_windows_t` computes from the image.
    private static func readsTransposed(_ product: NodeID, windows: NodeID, consumers: [[NodeID]],
                                        in function: Function) -> Bool {
        let nodes = function.nodes, node = nodes[product.index]
        guard case .matmul(true, false) = node.op, function.aliasRoot(node.inputs[0]) == windows,
              function.aliasRoot(node.inputs[1]) != windows, consumers[product.index].count == 1 else { return false }
        let sum = consumers[product.index][0], group = function.group(of: product)
        let a = nodes[node.inputs[0].index].type.shape, b = nodes[node.inputs[1].index].type.shape
        let rows = nodes[windows.index].type.shape
        guard FuseMatmulEpilogue.sumsStack(nodes[sum.index], of: node, in: nodes), group != nil, function.group(of: sum) == group,
              function.groups.filter({ $0 == group }).count == 2,
              let length = a[2].staticSize, length <= deepest, rows[rows.rank - 1] == .size(length),
              let cols = b[2].staticSize, cols <= widest
        else { return false }
        return true
    }

    /// Every node that reads `id` other than through reshapes, and the reshapes that are
    /// results (whose windows must be written).
    static func readers(of id: NodeID, consumers: [[NodeID]], results: Set<NodeID>, in function: Function) -> [NodeID] {
        consumers[id.index].flatMap { reader -> [NodeID] in
            guard case .reshape = function.nodes[reader.index].op else { return [reader] }
            return (results.contains(reader) ? [reader] : []) + readers(of: reader, consumers: consumers, results: results, in: function)
        }
    }

    /// The one node that reads `id` other than through reshapes, if the value and every
    /// reshape of it are read by no other node and are no result: for windowed patches, the
    /// product that gathers them.
    static func onlyReader(of id: NodeID, consumers: [[NodeID]], results: Set<NodeID>,
                                   in function: Function) -> NodeID? {
        guard !results.contains(id) else { return nil }
        var readers: [NodeID] = []
        for reader in consumers[id.index] {
            if case .reshape = function.nodes[reader.index].op {
                guard let inner = onlyReader(of: reader, consumers: consumers, results: results, in: function) else {
                    return nil
                }
                readers.append(inner)
            } else {
                readers.append(reader)
            }
        }
        return readers.count == 1 ? readers[0] : nil
    }

    /// Whether `product` is a matrix product of the window rows (as its left operand, rows in
    /// order) with a narrow matrix.
    private static func reads(_ product: NodeDef, windows: NodeID, in function: Function) -> Bool {
        guard case .matmul(false, false) = product.op, function.aliasRoot(product.inputs[0]) == windows,
              function.aliasRoot(product.inputs[1]) != windows else { return false }
        let nodes = function.nodes
        let a = nodes[product.inputs[0].index].type.shape, b = nodes[product.inputs[1].index].type.shape
        let rows = nodes[windows.index].type.shape
        guard b.rank == 2, let k = b[0].staticSize, let n = b[1].staticSize, k <= deepest, n <= widest,
              a[a.rank - 1] == rows[rows.rank - 1] else { return false }
        // One product of every row, as the renderer writes it for a shared right operand.
        return a.rank == 2 || Shape(Array(a.dims.dropLast(2))) == Shape(Array(product.type.shape.dims.dropLast(2)))
    }
}
