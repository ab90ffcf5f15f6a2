import KilnGraph

/// A max pooling's gradient summed into its convolution's filter and bias gradients as it is
/// made: an `extremum_gradient` over windows the size of their strides (`[n, ph·, ph, pw·, pw,
/// c]` reduced over axes 2 and 4, through a ReLU's mask or not) whose only readers, through
/// reshapes, are the sum of its values over every pixel (the bias's gradient, a kernel of its
/// own) and a filter gradient reading its windows from the image (``FuseWindowsIntoMatmul``'s
/// transposed product summed over the batch) is not written: one kernel makes it pixel by pixel
/// and adds it into both sums (`kiln_pooled_filter_gradient`). A network's first convolution has
/// no input gradient, so nothing else reads its map's gradient; apart, it was written whole
/// (9.4 MB for the Keras convnet's first convolution at batch 128, three quarters zeros) and read
/// back twice. Runs after the fusion passes, before memory planning.
public enum FusePoolingGradientIntoFilterGradient {
    /// The largest pooling window (cells), convolution window (floats) and number of filters
    /// the runtime kernel takes, and the most floats a pooling window's convolution windows
    /// may take together (the kernel gathers them when they have padding).
    public static let cellLimit = 64, lengthLimit = 1024, columnLimit = 256, gatheredLimit = 16384

    /// The pass.
    public static func run(_ function: Function) -> Function {
        guard !function.windowReaders.isEmpty else { return function }
        let consumers = function.consumers, results = function.results
        var result = function
        for (index, node) in function.nodes.enumerated() {
            let id = NodeID(index)
            if let pooled = pooledGradient(id, node, consumers: consumers, results: results, in: function) {
                result.pooledGradients[id] = pooled
            }
        }
        return result
    }

    /// The filter gradient and bias sum that may make extremum gradient `id` themselves, if
    /// it is one such.
    private static func pooledGradient(_ id: NodeID, _ node: NodeDef, consumers: [[NodeID]], results: Set<NodeID>,
                                       in function: Function) -> PooledGradient? {
        let nodes = function.nodes, shape = node.type.shape
        guard case .extremumGradient(let axes) = node.op, axes == [2, 4], node.type.dtype == .float32, shape.rank == 6,
              function.group(of: id) == nil, !results.contains(id),
              let ph = shape[2].staticSize, let pw = shape[4].staticSize, let cols = shape[5].staticSize,
              ph * pw <= cellLimit, cols <= columnLimit
        else { return nil }
        // Its readers: a bias sum and a filter gradient, each in a kernel of its own.
        let readers = FuseWindowsIntoMatmul.readers(of: id, consumers: consumers, results: results, in: function)
        guard readers.count == 2 else { return nil }
        guard let bias = readers.first(where: { sumsPixels(nodes[$0.index], of: shape, in: nodes) }),
              let product = readers.first(where: { $0 != bias }),
              let group = function.group(of: product), let windows = function.imageWindows(readBy: product),
              case .patches = nodes[windows.index].op,
              function.aliasRoot(nodes[product.index].inputs[1]) == id,
              let sum = consumers[product.index].first, function.group(of: sum) == group,
              function.groups.filter({ $0 == group }).count == 2,
              function.group(of: bias).map({ group in function.groups.filter { $0 == group }.count == 1 }) ?? true
        else { return nil }
        // The product's windows are the map's pixels: [n, ph·rows, pw·columns, length].
        let rows = nodes[windows.index].type.shape
        guard rows.rank == 4, rows[1].staticSize.map({ $0 == (shape[1].staticSize ?? -1) * ph }) == true,
              rows[2].staticSize.map({ $0 == (shape[3].staticSize ?? -1) * pw }) == true,
              let length = rows[3].staticSize, length <= lengthLimit, ph * pw * length <= gatheredLimit
        else { return nil }
        return PooledGradient(bias: bias, product: product, sum: sum)
    }

    /// Whether `reader` sums a value of `shape` (through reshapes) over every axis but its last.
    private static func sumsPixels(_ reader: NodeDef, of shape: Shape, in nodes: [NodeDef]) -> Bool {
        guard case .reduce(.sum, let axes, _) = reader.op, reader.type.dtype == .float32 else { return false }
        let operand = nodes[reader.inputs[0].index].type.shape
        return operand.rank >= 1 && operand[operand.rank - 1] == shape[shape.rank - 1] && axes == Array(0..<(operand.rank - 1))
    }
}

/// An extremum gradient no kernel writes (``FusePoolingGradientIntoFilterGradient``): the sum
/// of its values over every pixel (a bias's gradient), and the filter gradient's transposed
/// product of the windows with it and that product's sum over the batch, which one kernel
/// computes with it.
public struct PooledGradient: Sendable, Hashable {
    /// The bias's gradient.
    public let bias: NodeID
    /// The windows' transposed product with the gradient (its memory is the kernel's scratch).
    public let product: NodeID
    /// The product's sum over the batch: the filter's gradient.
    public let sum: NodeID
}
