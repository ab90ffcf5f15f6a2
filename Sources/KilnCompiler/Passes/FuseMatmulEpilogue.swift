import KilnGraph

/// Matmul epilogue fusion: a matmul whose every reader belongs to one elementwise group of
/// the matmul's own shape (typically a bias add and an activation) joins that group; the
/// kernel runs the GEMM and then applies the group's loop to its output, while it is still
/// in cache. A stack of products `aᵀ b` whose one reader sums it over the stack joins that
/// sum, to run as one GEMM. Runs after ``FuseElementwise``.
///
/// A group takes one matmul: of two products added together (a recurrent step's `x_t·W` and
/// `h·U`), the later one, whose epilogue is the addition, joins the group, and the other is a
/// kernel of its own whose output the GEMM adds as it stores its sums (`kiln_gemm_add`).
public enum FuseMatmulEpilogue {
    /// The pass.
    public static func run(_ function: Function) -> Function {
        guard !function.groups.isEmpty else { return function }
        var result = function
        let consumers = function.consumers
        let results = function.results
        var state = FuseElementwise.State(function)
        var joined = Set<Int>()
        for (index, node) in function.nodes.enumerated().reversed() {
            let readers = consumers[index]
            guard case .matmul = node.op, !results.contains(NodeID(index)),
                  let group = readers.first.flatMap({ result.groups[$0.index] }), !joined.contains(group),
                  readers.allSatisfy({ result.groups[$0.index] == group && reads(function.nodes[$0.index], node) })
                    || (readers.count == 1 && sumsStack(function.nodes[readers[0].index], of: node, in: function.nodes)
                        && result.groups.filter({ $0 == group }).count == 1),
                  !node.inputs.contains(where: { state.depends($0, on: group) })
            else { continue }
            result.groups[index] = group
            state.add(NodeID(index), to: group)
            joined.insert(group)
        }
        return result
    }

    /// Whether `reader` sums `matmul`, a stack of products `aᵀ b` (`[s, m, k]` and `[s, m, n]`;
    /// the kernel gradient of a convolution, one product per image), over the stack. Alone in
    /// its group, such a sum joins the matmul and the kernel runs as one GEMM over every
    /// product's rows (`CRenderer.renderSummedProducts`).
    static func sumsStack(_ reader: NodeDef, of matmul: NodeDef, in nodes: [NodeDef]) -> Bool {
        guard case .matmul(true, false) = matmul.op, matmul.type.shape.rank == 3, matmul.type.dtype == .float32,
              case .reduce(.sum, [0], _) = reader.op else { return false }
        let a = nodes[matmul.inputs[0].index].type.shape, b = nodes[matmul.inputs[1].index].type.shape
        return a.rank == 3 && b.rank == 3 && a[0] == b[0]
    }

    /// Whether `reader` reads `matmul` only at its own position (same shape, not broadcast).
    private static func reads(_ reader: NodeDef, _ matmul: NodeDef) -> Bool {
        if case .broadcast = reader.op { return false }
        return reader.op.isLoopElementwise && reader.type.shape == matmul.type.shape
    }
}
