import KilnGraph

/// Block lowering of a loop kernel: the innermost loop is cut into blocks of `KILN_BLOCK`
/// elements and each member becomes one call to a block primitive of the runtime
/// (`kiln_vec_add`, `kiln_vec_sqrt`, ...; Kernels/vector.c), which an optimizing compiler
/// vectorised. TinyCC compiles scalar loops without registers or SIMD, so on large arrays
/// (optimizer updates, activations over a batch) the calls are several times faster, and
/// give the same bits: each primitive computes an element with the scalar loop's expression.
///
/// Kernels with ops the primitives do not cover (`int32` arithmetic, random numbers, max or
/// min reductions, reductions along the innermost axis) and small ones stay scalar loops.
extension CRenderer {
    /// A member's or operand's elements for one block: a pointer expression and a stride of
    /// 1 (a run of `m` elements) or 0 (one value for the whole block).
    struct BlockOperand {
        var pointer: String
        var stride: Int
    }

    /// Loops over fewer elements than this stay scalar: the calls would cost more than they save.
    static let minimumBlockLength = 16

    /// The body of a block-lowered loop, or `nil` when the kernel must stay scalar.
    ///
    /// - Parameters:
    ///   - shape: The iteration shape.
    ///   - flat: Whether every read covers the whole iteration space or one element.
    func renderBlockLoop(_ kernel: KernelSpec, shape: Shape, flat: Bool,
                         elementwise: [NodeID], reductions: [NodeID]) -> String? {
        let rank = shape.rank
        guard rank > 0 else { return nil }
        // The blocked axis: all of the iteration space when flat, else the innermost axis.
        let length = flat ? CSyntax.product(shape.dims) : CSyntax.dim(shape[rank - 1])
        if flat && shape.staticProduct.map({ $0 < Self.minimumBlockLength * 4 }) == true { return nil }
        if !flat, let size = shape[rank - 1].staticSize, size < Self.minimumBlockLength { return nil }
        guard elementwise.allSatisfy({ blockable($0, shape: shape) }),
              reductions.allSatisfy({ blockableReduction($0, shape: shape, flat: flat) })
        else { return nil }

        let outputs = Set(kernel.outputs)
        // A pass-through member has no elements of its own to write.
        guard !elementwise.contains(where: { isPassThrough($0) && outputs.contains($0) }) else { return nil }
        let index: (Shape) -> String = { read in
            if flat { return read == shape ? "i" : "0" }
            return Self.broadcastIndex(read, in: shape)
        }
        let runStride: (Shape) -> Int = { read in
            if flat { return read == shape ? 1 : 0 }
            return read.rank > 0 && read[read.rank - 1] == shape[rank - 1] && shape[rank - 1] != .size(1) ? 1 : 0
        }

        var declarations = ""
        var operands: [NodeID: BlockOperand] = [:]
        func operand(_ id: NodeID) -> BlockOperand {
            if let known = operands[id] { return known }
            let root = schedule.function.aliasRoot(id)
            let read = nodes[id.index].type.shape
            let made: BlockOperand
            switch nodes[root.index].op {
            case .constant(let value) where value.scalarCount == 1:
                declarations += "    const \(CSyntax.type(value.dtype)) c\(id.index) = \(CSyntax.literal(value));\n"
                made = BlockOperand(pointer: "&c\(id.index)", stride: 0)
            case .elementCount(let counted):
                declarations += "    const float c\(id.index) = (float)(\(CSyntax.product(counted.dims)));\n"
                made = BlockOperand(pointer: "&c\(id.index)", stride: 0)
            default:
                let offset = index(read)
                made = BlockOperand(pointer: offset == "0" ? schedule.pointer(root) : "\(schedule.pointer(root)) + \(offset)",
                                    stride: runStride(read))
            }
            operands[id] = made
            return made
        }

        var body = ""
        for member in elementwise {
            let node = nodes[member.index]
            if isPassThrough(member) {
                operands[member] = operand(node.inputs[0])
                continue
            }
            let destination: String
            if outputs.contains(member) {
                destination = "\(schedule.pointer(member)) + \(index(shape))"
            } else {
                declarations += "    \(CSyntax.type(node.type.dtype)) v\(member.index)[KILN_BLOCK];\n"
                destination = "v\(member.index)"
            }
            let arguments = node.inputs.map(operand).map { "\($0.pointer), \($0.stride)" }
            body += "    kiln_vec_\(Self.primitive(node.op, input: nodes[node.inputs[0].index].type.dtype))(m, "
                + arguments.joined(separator: ", ") + ", \(destination));\n"
            operands[member] = BlockOperand(pointer: destination, stride: 1)
        }
        for reduction in reductions {
            guard case .reduce(_, let axes, _) = nodes[reduction.index].op else { continue }
            var kept = shape
            for axis in axes { kept[axis] = .size(1) }
            let x = operand(nodes[reduction.index].inputs[0])
            body += "    kiln_vec_sum_rows(m, \(x.pointer), \(x.stride), \(schedule.pointer(reduction)) + \(index(kept)));\n"
        }

        var out = declarations
        for reduction in reductions {
            out += "    for (int64_t o = 0; o < \(CSyntax.product(nodes[reduction.index].type.shape.dims)); o++) "
                + "\(schedule.pointer(reduction))[o] = 0;\n"
        }
        var indent = "    "
        let blocked = flat ? "i" : "i\(rank - 1)"
        if !flat {
            for axis in 0..<(rank - 1) {
                out += "\(indent)for (int64_t i\(axis) = 0; i\(axis) < \(CSyntax.dim(shape[axis])); i\(axis)++) {\n"
                indent += "    "
            }
        }
        out += "\(indent)for (int64_t \(blocked) = 0; \(blocked) < \(length); \(blocked) += KILN_BLOCK) {\n"
        out += "\(indent)    int64_t m = \(length) - \(blocked) < KILN_BLOCK ? \(length) - \(blocked) : KILN_BLOCK;\n"
        for line in body.split(separator: "\n") { out += indent + line + "\n" }
        return out + closeLoops(flat ? 1 : rank, reductions: reductions, shape: shape)
    }

    /// A member whose elements are its operand's: a broadcast, or a cast to the same type.
    private func isPassThrough(_ id: NodeID) -> Bool {
        let node = nodes[id.index]
        switch node.op {
        case .broadcast: return true
        case .cast(let dtype): return dtype == nodes[node.inputs[0].index].type.dtype
        default: return false
        }
    }

    /// Whether a primitive computes `id` over the iteration space `shape`.
    private func blockable(_ id: NodeID, shape: Shape) -> Bool {
        let node = nodes[id.index]
        guard node.type.shape == shape else { return false }
        let inputs = node.inputs.map { nodes[$0.index].type.dtype }
        switch node.op {
        case .unary: return node.type.dtype == .float32
        case .binary: return node.type.dtype == .float32
        case .compare: return inputs.allSatisfy { $0 == .float32 }
        case .select: return inputs == [.bool, .float32, .float32]
        case .cast(let dtype):
            return dtype == inputs[0] || (inputs[0], dtype) == (.bool, .float32) || (inputs[0], dtype) == (.float32, .bool)
        case .broadcast: return true
        default: return false
        }
    }

    /// Whether a reduction can accumulate whole rows: a `float32` sum or mean that keeps the
    /// blocked axis.
    private func blockableReduction(_ id: NodeID, shape: Shape, flat: Bool) -> Bool {
        guard !flat, case .reduce(let op, let axes, _) = nodes[id.index].op,
              op == .sum || op == .mean, nodes[id.index].type.dtype == .float32
        else { return false }
        return !axes.contains(shape.rank - 1)
    }

    /// The primitive's name without `kiln_vec_`.
    static func primitive(_ op: Op, input: DType) -> String {
        switch op {
        case .unary(let unary): return unary.rawValue
        case .binary(let binary): return binary.rawValue
        case .compare(let comparison):
            switch comparison {
            case .equal: return "equal"
            case .notEqual: return "not_equal"
            case .less: return "less"
            case .lessEqual: return "less_equal"
            case .greater: return "greater"
            case .greaterEqual: return "greater_equal"
            }
        case .select: return "select"
        case .cast: return input == .bool ? "bool_to_f32" : "f32_to_bool"
        default: return "unsupported"
        }
    }
}
