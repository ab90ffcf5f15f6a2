import KilnGraph

extension CRenderer {
    /// A kernel that only reduces a value in memory (a pooling's maximum, a global average,
    /// a sum over the batch) as one call of `kiln_reduce_f32`, which keeps the loop nest's
    /// order and rules (the same bits) without a call per run of the innermost axis; then a
    /// mean's division. `nil` for other kernels.
    func renderReductionCall(_ kernel: KernelSpec, _ plan: LoopPlan) -> String? {
        guard plan.matmuls.isEmpty, plan.elementwise.isEmpty, plan.reductions.count == 1, !canFault(kernel) else { return nil }
        let id = plan.reductions[0], node = nodes[id.index]
        guard case .reduce(let op, let axes, _) = node.op, node.type.dtype == .float32 else { return nil }
        let operand = node.inputs[0], root = schedule.function.aliasRoot(operand)
        let shape = nodes[operand.index].type.shape
        guard inlineValue(root) == nil, shape == plan.shape, (1...Self.reductionRankLimit).contains(shape.rank) else { return nil }
        let code: Int
        switch op {
        case .sum, .mean: code = 0
        case .max: code = 1
        case .min: code = 2
        }
        let reduced = (0..<shape.rank).map { axes.contains($0) ? "1" : "0" }
        return "    const int64_t shape[\(shape.rank)] = {\(shape.dims.map(CSyntax.dim).joined(separator: ", "))};\n"
            + "    const int64_t reduced[\(shape.rank)] = {\(reduced.joined(separator: ", "))};\n"
            + "    kiln_reduce_f32(\(code), \(shape.rank), shape, reduced, \(schedule.pointer(root)), \(schedule.pointer(id)));\n"
            + closeLoops(0, reductions: [id], shape: shape)
    }

    /// The most axes `kiln_reduce_f32` takes.
    static let reductionRankLimit = 16
}
