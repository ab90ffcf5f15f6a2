import KilnGraph

/// Adam's update as one runtime call. Kiln's `Adam` optimizer makes the twelve elementwise
/// ops of `m' = m + (g - m) c1`, `v' = v + (g² - v) c2`, `w' = w - (m' alpha) / (sqrt(v') + eps)`
/// for each weight, which fusion puts in one flat loop; a loop that is exactly those ops
/// (whatever the order of the operands of the commutative ones) calls `kiln_adam`
/// (Kernels/update.c), which computes each element with the same operations in one pass, so
/// the result has the bits of the twelve block primitives. Any other loop is left to them.
extension CRenderer {
    /// The call of `kiln_adam` for the kernel, or `nil` if its loop is not Adam's update.
    func renderAdamUpdate(_ kernel: KernelSpec, _ plan: LoopPlan) -> String? {
        let e = plan.elementwise, shape = plan.shape
        guard plan.flat, plan.reductions.isEmpty, e.count == 12, shape.rank > 0 else { return nil }
        func binary(_ k: Int, _ op: BinaryOp) -> (NodeID, NodeID)? {
            guard case .binary(let found) = nodes[e[k].index].op, found == op else { return nil }
            return (nodes[e[k].index].inputs[0], nodes[e[k].index].inputs[1])
        }
        func unary(_ k: Int, _ op: UnaryOp) -> NodeID? {
            guard case .unary(let found) = nodes[e[k].index].op, found == op else { return nil }
            return nodes[e[k].index].inputs[0]
        }
        /// The operand of commutative member `k` other than `known`.
        func other(_ k: Int, _ op: BinaryOp, _ known: NodeID) -> NodeID? {
            guard let (a, b) = binary(k, op) else { return nil }
            return a == known ? b : (b == known ? a : nil)
        }
        guard let (g, m) = binary(0, .sub),
              let c1 = other(1, .mul, e[0]), other(2, .add, e[1]) == m,
              unary(3, .square) == g,
              let (square, v) = binary(4, .sub), square == e[3],
              let c2 = other(5, .mul, e[4]), other(6, .add, e[5]) == v,
              let alpha = other(7, .mul, e[2]),
              unary(8, .sqrt) == e[6],
              let eps = other(9, .add, e[8]),
              let (scaled, denominator) = binary(10, .div), scaled == e[7], denominator == e[9],
              let (w, step) = binary(11, .sub), step == e[10]
        else { return nil }
        // m', v' and w' are written; nothing else leaves the loop.
        let outputs = Set(kernel.outputs)
        guard outputs == [e[2], e[6], e[11]] else { return nil }
        var declarations = ""
        var arguments: [String] = []
        for run in [g, m, v, w] {
            guard nodes[run.index].type.shape == shape, nodes[run.index].type.dtype == .float32 else { return nil }
            arguments.append(schedule.pointer(schedule.function.aliasRoot(run)))
        }
        for scalar in [c1, c2, alpha, eps] {
            let read = nodes[scalar.index].type.shape, root = schedule.function.aliasRoot(scalar)
            guard read.staticProduct == 1, !read.hasBatch, nodes[scalar.index].type.dtype == .float32 else { return nil }
            if let inline = inlineBlockOperand(scalar, root: root) {
                declarations += inline.declaration
                arguments.append(inline.operand.pointer)
            } else {
                arguments.append(schedule.pointer(root))
            }
        }
        arguments += [e[2], e[6], e[11]].map(schedule.pointer)
        return declarations + "    kiln_adam(\(CSyntax.product(shape.dims)), \(arguments.joined(separator: ", ")));\n"
    }
}
