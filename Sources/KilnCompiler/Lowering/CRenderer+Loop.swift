import KilnGraph

extension CRenderer {
    /// A loop kernel: any GEMMs it starts with, then one loop nest over the iteration shape
    /// computing every elementwise member in registers, writing the members needed outside,
    /// and accumulating the reductions.
    func renderLoopKernel(_ kernel: KernelSpec) -> String {
        let members = Set(kernel.members)
        var out = ""
        for member in kernel.members {
            if case .matmul = nodes[member.index].op { out += renderMatmul(member) }
        }
        let reductions = kernel.members.filter { if case .reduce = nodes[$0.index].op { true } else { false } }
        let elementwise = kernel.members.filter {
            let op = nodes[$0.index].op
            if case .matmul = op { return false }
            if case .reduce = op { return false }
            return true
        }
        let shape: Shape = reductions.first.map { nodes[nodes[$0.index].inputs[0].index].type.shape }
            ?? nodes[elementwise[0].index].type.shape
        let rank = shape.rank

        // Reads in a flat loop when every access is the whole iteration space or a single element.
        var accessed: [Shape] = []
        for member in kernel.members where !isMatmul(member) {
            for input in nodes[member.index].inputs where !members.contains(input) || isMatmul(input) {
                if !nodes[schedule.function.aliasRoot(input).index].op.isInline {
                    accessed.append(nodes[input.index].type.shape)
                }
            }
        }
        let flat = reductions.isEmpty && accessed.allSatisfy { $0 == shape || $0.staticProduct == 1 && !$0.hasBatch }
        let index: (Shape) -> String = { read in
            if flat { return read == shape ? (rank == 0 ? "0" : "i") : "0" }
            return Self.broadcastIndex(read, in: shape)
        }

        if let blocks = renderBlockLoop(kernel, shape: shape, flat: flat, elementwise: elementwise, reductions: reductions) {
            return out + blocks
        }

        for reduction in reductions {
            guard case .reduce(let op, _, _) = nodes[reduction.index].op else { continue }
            let type = nodes[reduction.index].type
            let initial: String
            switch (op, type.dtype) {
            case (.max, .float32): initial = "(-1.0f/0.0f)"
            case (.min, .float32): initial = "(1.0f/0.0f)"
            case (.max, _): initial = "(-2147483647 - 1)"
            case (.min, _): initial = "2147483647"
            default: initial = "0"
            }
            out += "    for (int64_t o = 0; o < \(CSyntax.product(type.shape.dims)); o++) \(schedule.pointer(reduction))[o] = \(initial);\n"
        }

        var indent = "    "
        if flat && rank > 0 {
            out += "\(indent)for (int64_t i = 0; i < \(CSyntax.product(shape.dims)); i++) {\n"
            indent += "    "
        } else {
            for axis in 0..<rank {
                out += "\(indent)for (int64_t i\(axis) = 0; i\(axis) < \(CSyntax.dim(shape[axis])); i\(axis)++) {\n"
                indent += "    "
            }
        }
        let outputs = Set(kernel.outputs)
        for member in elementwise {
            let node = nodes[member.index]
            let operands = node.inputs.map { value($0, members: members, index: index) }
            let expression: String
            switch node.op {
            case .unary(let op): expression = CExpression.unary(op, operands[0], dtype: node.type.dtype)
            case .binary(let op): expression = CExpression.binary(op, operands[0], operands[1], dtype: node.type.dtype)
            case .compare(let op): expression = CExpression.compare(op, operands[0], operands[1])
            case .select: expression = "\(operands[0]) ? \(operands[1]) : \(operands[2])"
            case .cast(let dtype):
                expression = CExpression.cast(operands[0], from: nodes[node.inputs[0].index].type.dtype, to: dtype)
            case .elementCount(let counted): expression = "(float)(\(CSyntax.product(counted.dims)))"
            case .randomUniform: expression = "kiln_random_uniform(\(operands[0]), \(index(node.type.shape)))"
            default: expression = operands.first ?? "0"
            }
            out += "\(indent)\(CSyntax.type(node.type.dtype)) v\(member.index) = \(expression);\n"
            if outputs.contains(member) {
                out += "\(indent)\(schedule.pointer(member))[\(index(node.type.shape))] = v\(member.index);\n"
            }
        }
        for reduction in reductions {
            guard case .reduce(let op, let axes, _) = nodes[reduction.index].op else { continue }
            let node = nodes[reduction.index]
            let x = value(node.inputs[0], members: members, index: index)
            var kept = shape
            for axis in axes { kept[axis] = .size(1) }
            let target = "\(schedule.pointer(reduction))[\(Self.broadcastIndex(kept, in: shape))]"
            switch (op, node.type.dtype) {
            case (.sum, .int32):
                out += "\(indent)\(target) = (int32_t)((uint32_t)\(target) + (uint32_t)\(x));\n"
            case (.sum, _), (.mean, _):
                out += "\(indent)\(target) += \(x);\n"
            case (.max, .float32), (.min, .float32):
                let symbol = op == .max ? ">" : "<"
                out += "\(indent){ float r = \(x); if (r != r || r \(symbol) \(target)) \(target) = r; }\n"
            case (.max, _), (.min, _):
                let symbol = op == .max ? ">" : "<"
                out += "\(indent){ int32_t r = \(x); if (r \(symbol) \(target)) \(target) = r; }\n"
            }
        }
        return out + closeLoops(flat && rank > 0 ? 1 : rank, reductions: reductions, shape: shape)
    }

    /// The closing braces of `loops` nested loops, then each mean's division of its sum by
    /// the number of elements it reduced.
    func closeLoops(_ loops: Int, reductions: [NodeID], shape: Shape) -> String {
        var out = ""
        for level in stride(from: loops, to: 0, by: -1) {
            out += String(repeating: "    ", count: level) + "}\n"
        }
        for reduction in reductions {
            guard case .reduce(.mean, let axes, _) = nodes[reduction.index].op else { continue }
            let count = CSyntax.product(axes.map { shape[$0] })
            let pointer = schedule.pointer(reduction)
            out += "    for (int64_t o = 0; o < \(CSyntax.product(nodes[reduction.index].type.shape.dims)); o++) "
                + "\(pointer)[o] = \(pointer)[o] / (float)(\(count));\n"
        }
        return out
    }

    private func isMatmul(_ id: NodeID) -> Bool {
        if case .matmul = nodes[id.index].op { return true }
        return false
    }

    /// The C expression of operand `id` inside the loop body.
    private func value(_ id: NodeID, members: Set<NodeID>, index: (Shape) -> String) -> String {
        if members.contains(id) && !isMatmul(id) { return "v\(id.index)" }
        let root = schedule.function.aliasRoot(id)
        let rootNode = nodes[root.index]
        switch rootNode.op {
        case .constant(let value) where value.scalarCount == 1:
            return CSyntax.literal(value)
        case .elementCount(let counted):
            return "((float)(\(CSyntax.product(counted.dims))))"
        default:
            return "\(schedule.pointer(root))[\(index(nodes[id.index].type.shape))]"
        }
    }

    /// The offset of the element of a value of shape `read` that position `i0, i1, ...` of
    /// the iteration shape reads, broadcasting NumPy-style: `i0*16 + i1`.
    static func broadcastIndex(_ read: Shape, in shape: Shape) -> String {
        let strides = CSyntax.strides(read)
        let offset = shape.rank - read.rank
        var terms: [String] = []
        for axis in 0..<shape.rank {
            let readAxis = axis - offset
            guard readAxis >= 0, read[readAxis] != .size(1) || shape[axis] == .size(1) else { continue }
            if read[readAxis] == .size(1) { continue }
            terms.append(strides[readAxis] == "1" ? "i\(axis)" : "i\(axis)*\(strides[readAxis])")
        }
        return terms.isEmpty ? "0" : terms.joined(separator: " + ")
    }
}
