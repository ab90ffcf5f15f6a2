import KilnGraph

/// Matmul epilogue fusion: a matmul whose every reader belongs to one elementwise group of
/// the matmul's own shape (typically a bias add and an activation) joins that group; the
/// kernel runs the GEMM and then applies the group's loop to its output, while it is still
/// in cache. Runs after ``FuseElementwise``.
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
                  readers.allSatisfy({ result.groups[$0.index] == group && reads(function.nodes[$0.index], node) }),
                  !node.inputs.contains(where: { state.depends($0, on: group) })
            else { continue }
            result.groups[index] = group
            state.add(NodeID(index), to: group)
        }
        return result
    }

    /// Whether `reader` reads `matmul` only at its own position (same shape, not broadcast).
    private static func reads(_ reader: NodeDef, _ matmul: NodeDef) -> Bool {
        if case .broadcast = reader.op { return false }
        return reader.op.isLoopElementwise && reader.type.shape == matmul.type.shape
    }
}
