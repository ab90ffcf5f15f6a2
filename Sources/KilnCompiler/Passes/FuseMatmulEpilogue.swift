import KilnGraph

/// Matmul epilogue fusion: a matmul whose every reader belongs to one elementwise group of
/// the matmul's own shape (typically a bias add and an activation) joins that group; the
/// kernel runs the GEMM and then applies the group's loop to its output, while it is still
/// in cache. A stack of products `aᵀ b` whose one reader sums it over the stack joins that
/// sum, to run as one GEMM. Runs after ``FuseElementwise``.
public enum FuseMatmulEpilogue {
    /// The pass.
    public static func run(_ function: Function) -> Function {
        guard !function.groups.isEmpty else { return function }
        var result = function
        let consumers = function.consumers
        let results = function.results
        var state = FuseElementwise.State(function)
        for (index, node) in function.nodes.enumerated() {
            let readers = consumers[index]
            guard case .matmul = node.op, !results.contains(NodeID(index)),
                  let group = readers.first.flatMap({ result.groups[$0.index] }),
                  readers.allSatisfy({ result.groups[$0.index] == group && reads(function.nodes[$0.index], node) })
                    || sumsOverBatch(readers, node, function, groups: result.groups),
                  !node.inputs.contains(where: { state.depends($0, on: group) })
            else { continue }
            result.groups[index] = group
            state.add(NodeID(index), to: group)
        }
        return result
    }

    /// Whether the matmul's one reader, alone in its group, sums it over the leading axis
    /// of a stack of products `aᵀ b` (the kernel gradient of a convolution, one product per
    /// image): the kernel then runs as one GEMM over every image's rows
    /// (`CRenderer.renderSummedProducts`).
    static func sumsOverBatch(_ readers: [NodeID], _ matmul: NodeDef, _ function: Function, groups: [Int?]) -> Bool {
        guard readers.count == 1, case .matmul(true, false) = matmul.op, matmul.type.shape.rank == 3,
              case .reduce(.sum, [0], _) = function.nodes[readers[0].index].op,
              let group = groups[readers[0].index], groups.filter({ $0 == group }).count == 1 else { return false }
        let a = function.nodes[matmul.inputs[0].index].type.shape, b = function.nodes[matmul.inputs[1].index].type.shape
        return a.rank == 3 && b.rank == 3 && a[0] == b[0] && matmul.type.dtype == .float32
    }

    /// Whether `reader` reads `matmul` only at its own position (same shape, not broadcast).
    private static func reads(_ reader: NodeDef, _ matmul: NodeDef) -> Bool {
        if case .broadcast = reader.op { return false }
        return reader.op.isLoopElementwise && reader.type.shape == matmul.type.shape
    }
}
