import KilnGraph

/// Reshapes sunk below the elementwise ops and reductions that read them, so that a value and
/// what is computed from it after a reshape iterate over one shape and can share a loop.
///
/// Pooling views a feature map `[n, h, w, c]` as `[n, h/2, 2, w/2, 2, c]`; its gradient is
/// computed in that view and read back through a reshape by the activation's gradient and
/// the bias gradient, in the map's own shape. Fusion groups ops of one shape, so the two
/// halves ran as two kernels, and the gradient was written to memory and read back between
/// them: for a batch of 128 26×26×32 maps, 11 MB each way. A reshape keeps the row-major
/// order of the elements, so the op can as well run in the operand's shape:
///
/// - an elementwise op `f(reshape(x), y, ...)` over shape `S`, with `x` of shape `S'` made
///   by an elementwise op, becomes `reshape(f(x, reshape(y), ...))` computed over `S'`, when
///   every other operand is a scalar or has shape `S` (a reshape of a value of shape `S'`
///   is read directly);
/// - a reduction of `reshape(x)` becomes a reduction of `x` followed by a reshape, when each
///   group of axes the reshape merges or splits is either reduced whole or kept whole.
///
/// A convolution is a matrix product of window rows, `[n, oh·ow, out]`, viewed as maps
/// `[n, oh, ow, out]` for its bias and activation. The value viewed may be such a product:
/// the bias add and activation sunk into the product's shape join it as its epilogue
/// (``FuseMatmulEpilogue``) instead of reading its output back in a kernel of their own. An
/// operand broadcast along trailing axes the reshape keeps (a bias `[out]`) is read the same
/// way in either shape.
///
/// An operand of shape `S` that an elementwise op makes for this op alone could have run in
/// its loop; in `S'` it is written to memory instead. The op is sunk only when such operands
/// take fewer bytes per element than `x` (a comparison's mask of bytes beside a gradient of
/// floats), so each rewrite saves memory traffic. Reshapes are views: they cost nothing.
public enum SinkReshapes {
    /// The pass.
    public static func run(_ function: Function) -> Function {
        let consumers = function.consumers
        let results = function.results
        var rewriter = GraphRewriter(function)
        for index in function.nodes.indices {
            let id = NodeID(index)
            let node = rewriter.remapped(id)
            if let sunk = sunkElementwise(node, source: function.nodes[index], consumers: consumers, results: results,
                                          in: &rewriter)
                ?? sunkReduction(node, in: &rewriter) {
                rewriter.map(to: sunk)
            } else {
                rewriter.map(to: rewriter.append(node))
            }
        }
        return rewriter.finish()
    }

    /// The value `id` of the new graph is a view of, through any reshapes.
    private static func unshaped(_ id: NodeID, in rewriter: GraphRewriter) -> NodeID {
        var current = id
        while case .reshape = rewriter.node(current).op { current = rewriter.node(current).inputs[0] }
        return current
    }

    /// Whether two shapes hold the same number of elements for every batch size.
    private static func sameCount(_ a: Shape, _ b: Shape) -> Bool {
        func count(_ shape: Shape) -> (batch: Int, size: Int) {
            shape.dims.reduce((0, 1)) { counted, dim in
                if let size = dim.staticSize { (counted.batch, counted.size * size) } else { (counted.batch + 1, counted.size) }
            }
        }
        return count(a) == count(b)
    }

    /// `reshape(f(x, reshape(y), ...))` over x's shape for `f(reshape(x), y, ...)`, or nil.
    private static func sunkElementwise(_ node: NodeDef, source: NodeDef, consumers: [[NodeID]], results: Set<NodeID>,
                                        in rewriter: inout GraphRewriter) -> NodeID? {
        guard node.op.isPositionwise else { return nil }
        let shape = node.type.shape
        // The operands viewed from another shape, made by an elementwise op or a product: the
        // op is sunk into the shape of the one with the widest elements (a gradient of floats
        // rather than a mask of bools beside it), if that saves traffic.
        var candidates: [NodeDef] = []
        for input in node.inputs where rewriter.node(input).type.shape == shape {
            guard case .reshape = rewriter.node(input).op else { continue }
            let base = rewriter.node(unshaped(input, in: rewriter))
            if isViewable(base), base.type.shape != shape, sameCount(base.type.shape, shape) { candidates.append(base) }
        }
        var widest: NodeDef? = nil
        for candidate in candidates where candidate.type.dtype.byteSize > widest?.type.dtype.byteSize ?? 0 { widest = candidate }
        guard let widest else { return nil }
        return sunkElementwise(node, source: source, into: widest, consumers: consumers, results: results, in: &rewriter)
    }

    /// `node` computed in the shape of `viewed`, an operand's base, then reshaped back; nil
    /// when an operand does not fit that shape or writing the operands that could have run
    /// in the op's loop would cost as much as `viewed` saves.
    private static func sunkElementwise(_ node: NodeDef, source: NodeDef, into viewed: NodeDef, consumers: [[NodeID]],
                                        results: Set<NodeID>, in rewriter: inout GraphRewriter) -> NodeID? {
        let shape = node.type.shape, target = viewed.type.shape
        // Every operand in the target shape; the bytes per element of those that could have
        // run in this op's loop and will be written instead.
        var inputs: [NodeID] = []
        var displaced = 0
        for (input, sourceInput) in zip(node.inputs, source.inputs) {
            let operand = rewriter.node(input)
            if operand.type.shape.rank == 0 || keepsTrailingBroadcast(operand.type.shape, from: shape, to: target) {
                inputs.append(input)
                continue
            }
            guard operand.type.shape == shape else { return nil }
            let base = unshaped(input, in: rewriter)
            if rewriter.node(base).type.shape == target {
                inputs.append(base)
                continue
            }
            let made = rewriter.source.nodes[sourceInput.index]
            if made.op.isLoopElementwise, consumers[sourceInput.index].count == 1, !results.contains(sourceInput) {
                displaced += operand.type.dtype.byteSize
            }
            inputs.append(input)
        }
        guard displaced < viewed.type.dtype.byteSize else { return nil }
        for (position, input) in inputs.enumerated() where rewriter.node(input).type.shape == shape {
            let operand = rewriter.node(input)
            inputs[position] = rewriter.append(NodeDef(op: .reshape(target), inputs: [input],
                                                       type: TensorType(operand.type.dtype, target)))
        }
        let sunk = rewriter.append(NodeDef(op: node.op, inputs: inputs, type: TensorType(node.type.dtype, target)))
        return rewriter.append(NodeDef(op: .reshape(shape), inputs: [sunk], type: node.type))
    }

    /// Whether an op's result seen through a reshape may have the op sunk into its shape: one
    /// an elementwise loop makes, or a float matrix product (whose epilogue it then joins).
    private static func isViewable(_ base: NodeDef) -> Bool {
        if case .matmul = base.op { return base.type.dtype == .float32 }
        return base.op.isLoopElementwise
    }

    /// Whether an operand of shape `operand`, broadcast against `shape` along its leading axes
    /// (a bias `[c]` against maps `[n, h, w, c]`), is broadcast the same way against `target`:
    /// its axes are trailing axes of `shape` that `target` ends with too.
    private static func keepsTrailingBroadcast(_ operand: Shape, from shape: Shape, to target: Shape) -> Bool {
        let rank = operand.rank
        guard rank > 0, rank < shape.rank, rank < target.rank else { return false }
        let trailing = Array(shape.dims.suffix(rank))
        return operand.dims == trailing && Array(target.dims.suffix(rank)) == trailing
    }

    /// A reduction of x followed by a reshape, for a reduction of `reshape(x)` with x made by
    /// an elementwise op, or nil.
    private static func sunkReduction(_ node: NodeDef, in rewriter: inout GraphRewriter) -> NodeID? {
        guard case .reduce(let op, let axes, let keepDims) = node.op, case .reshape = rewriter.node(node.inputs[0]).op
        else { return nil }
        let shape = rewriter.node(node.inputs[0]).type.shape
        let base = unshaped(node.inputs[0], in: rewriter)
        let viewed = rewriter.node(base)
        guard viewed.op.isLoopElementwise, viewed.type.shape != shape,
              let groups = axisGroups(shape, viewed.type.shape) else { return nil }
        var reduced: [Int] = []
        for (outer, inner) in groups {
            let inAxes = outer.filter { axes.contains($0) }.count
            guard inAxes == 0 || inAxes == outer.count else { return nil }
            if inAxes > 0 { reduced += Array(inner) }
        }
        guard !reduced.isEmpty else { return nil }
        var dims: [Dim] = []
        for (axis, dim) in viewed.type.shape.dims.enumerated() {
            if !reduced.contains(axis) {
                dims.append(dim)
            } else if keepDims {
                dims.append(.size(1))
            }
        }
        let sunk = rewriter.append(NodeDef(op: .reduce(op, axes: reduced, keepDims: keepDims), inputs: [base],
                                           type: TensorType(node.type.dtype, Shape(dims))))
        guard Shape(dims) != node.type.shape else { return sunk }
        return rewriter.append(NodeDef(op: .reshape(node.type.shape), inputs: [sunk], type: node.type))
    }

    /// The axes of `a` and of `b` (the same elements in row-major order) that hold the same
    /// part of the elements, outermost first: a dimension equal in both, or several static
    /// dimensions of one whose product is one or several of the other. Nil when the shapes do
    /// not line up so (the batch dimension merged with another).
    package static func axisGroups(_ a: Shape, _ b: Shape) -> [(Range<Int>, Range<Int>)]? {
        var groups: [(Range<Int>, Range<Int>)] = []
        var i = 0, j = 0
        while i < a.rank && j < b.rank {
            if a[i] == b[j] {
                groups.append((i..<(i + 1), j..<(j + 1)))
                i += 1
                j += 1
                continue
            }
            guard var left = a[i].staticSize, var right = b[j].staticSize else { return nil }
            let (startA, startB) = (i, j)
            while left != right {
                if left < right {
                    i += 1
                    guard i < a.rank, let size = a[i].staticSize else { return nil }
                    left *= size
                } else {
                    j += 1
                    guard j < b.rank, let size = b[j].staticSize else { return nil }
                    right *= size
                }
            }
            groups.append((startA..<(i + 1), startB..<(j + 1)))
            i += 1
            j += 1
        }
        return i == a.rank && j == b.rank ? groups : nil
    }
}
