import KilnGraph

/// A pooling joins the kernel of the product it pools: a reduction over the window axes of
/// a reshape of a matrix product's epilogue (a convolution's bias and activation, then its
/// max or average pooling) becomes a pool of that kernel (``LoopPlan/pools``). The renderer
/// pools each chunk of the product's rows right after the loop writes them, on the core that
/// wrote them, while they are in its cache; apart, the pooling was a kernel of its own that
/// read the whole map back, half of it from the other core's cache. The epilogue's value is
/// still written: the pooling reads it there, as a training step's gradients do.
///
/// The chunks and the parts split between the cores are whole window rows, so each window is
/// pooled by one call, in the order the pooling kernel used: the same bits. Only when an
/// image's window rows split evenly in two (the first pooling of the Keras convnet, 12 rows
/// of windows, but not its second, 5), so that one image still splits evenly between two
/// cores, and when a chunk of one window row of the product fits on the stack. Runs after the
/// fusion passes, before memory planning.
public enum FusePoolingIntoProduct {
    /// The most floats of one window row of the product (a chunk's least size).
    public static let largestUnit = 16_384

    /// The pass.
    public static func run(_ function: Function) -> Function {
        guard !function.groups.isEmpty else { return function }
        var result = function
        var state = FuseElementwise.State(function)
        for (index, node) in function.nodes.enumerated() {
            guard let target = productGroup(pooling: node, id: NodeID(index), state: state, in: function) else { continue }
            if let old = result.groups[index] { state.members[old].removeAll { $0 == NodeID(index) } }
            result.groups[index] = target
            state.add(NodeID(index), to: target)
        }
        return result
    }

    /// The group of the product whose epilogue `node` pools, if the pooling may join it.
    private static func productGroup(pooling node: NodeDef, id: NodeID, state: FuseElementwise.State,
                                     in function: Function) -> Int? {
        let nodes = function.nodes
        guard case .reduce(_, let axes, _) = node.op, node.type.dtype == .float32,
              case .reshape = nodes[node.inputs[0].index].op else { return nil }
        // Alone in its group, or in none.
        if let own = state.groups[id.index], state.members[own] != [id] { return nil }
        let windows = nodes[node.inputs[0].index].type.shape, mapped = function.aliasRoot(node.inputs[0])
        let map = nodes[mapped.index]
        guard map.type.dtype == .float32, let group = state.groups[mapped.index], state.groups[id.index] != group,
              let unit = unitRows(windows: windows, axes: axes), let length = windows[windows.rank - 1].staticSize,
              map.type.shape.rank >= 2, map.type.shape[map.type.shape.rank - 1] == .size(length),
              unit * length <= largestUnit
        else { return nil }
        // The group is one product and its epilogue, of the map's shape, with no reduction.
        let members = state.members[group]
        let products = members.filter { if case .matmul = nodes[$0.index].op { true } else { false } }
        guard products.count == 1, nodes[products[0].index].type.shape == map.type.shape,
              !members.contains(where: { if case .reduce = nodes[$0.index].op { true } else { false } })
        else { return nil }
        return group
    }

    /// The rows of the map one row of windows covers (the product of the window shape's axes
    /// from the first reduced one on, the channels aside), when the windows are whole rows of
    /// the map, an image holds an even number of them, and the first axis (the batch) is kept;
    /// `nil` otherwise.
    static func unitRows(windows: Shape, axes: [Int]) -> Int? {
        let rank = windows.rank
        guard rank >= 3, let first = axes.min(), first >= 2, axes.allSatisfy({ $0 < rank - 1 }) else { return nil }
        guard let rowsPerImage = Shape(Array(windows.dims[1..<first])).staticProduct, rowsPerImage % 2 == 0,
              let unit = Shape(Array(windows.dims[first..<(rank - 1)])).staticProduct, unit > 0
        else { return nil }
        return unit
    }
}
