import KilnGraph

extension CRenderer {
    /// A kernel that only reduces a value in memory (a pooling's maximum, a global average,
    /// a sum over the batch) as one call of `kiln_reduce_f32`, which keeps the loop nest's
    /// order and rules (the same bits) without a call per run of the innermost axis; then a
    /// mean's division. `nil` for other kernels.
    func renderReductionCall(_ kernel: KernelSpec, _ plan: LoopPlan) -> String? {
        guard plan.matmuls.isEmpty, plan.elementwise.isEmpty, plan.reductions.count == 1, !canFault(kernel) else { return nil }
        let id = plan.reductions[0], node = nodes[id.index]
        guard case .reduce(_, let axes, _) = node.op, node.type.dtype == .float32 else { return nil }
        let operand = node.inputs[0], root = schedule.function.aliasRoot(operand)
        let shape = nodes[operand.index].type.shape
        guard inlineValue(root) == nil, shape == plan.shape, (1...Self.reductionRankLimit).contains(shape.rank) else { return nil }
        return reduceCall(id, dims: shape.dims.map(CSyntax.dim), axes: axes, from: schedule.pointer(root),
                          to: schedule.pointer(id), indent: "    ") + closeLoops(0, reductions: [id], shape: shape)
    }

    /// The `kiln_reduce_f32` call of float32 reduction `id` over axes `axes` of a value of
    /// extents `dims` (C expressions) at `x`, into `y`: the declarations of its shape and
    /// reduced axes and the call, each a line at `indent`.
    func reduceCall(_ id: NodeID, dims: [String], axes: [Int], from x: String, to y: String, indent: String) -> String {
        guard case .reduce(let op, _, _) = nodes[id.index].op else { return "" }
        let code: Int
        switch op {
        case .sum, .mean: code = 0
        case .max: code = 1
        case .min: code = 2
        }
        let reduced = dims.indices.map { axes.contains($0) ? "1" : "0" }
        return "\(indent)const int64_t shape[\(dims.count)] = {\(dims.joined(separator: ", "))};\n"
            + "\(indent)const int64_t reduced[\(dims.count)] = {\(reduced.joined(separator: ", "))};\n"
            + "\(indent)kiln_reduce_f32(\(code), \(dims.count), shape, reduced, \(x), \(y));\n"
    }

    /// The most axes `kiln_reduce_f32` takes.
    static let reductionRankLimit = 16
}
