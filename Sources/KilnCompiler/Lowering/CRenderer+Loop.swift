import KilnGraph

extension CRenderer {
    /// A loop kernel: its GEMMs, then one loop nest over the iteration shape computing every
    /// elementwise member in registers, writing the members needed outside, and accumulating
    /// the reductions (or the same as calls of block primitives, when it qualifies).
    ///
    /// - Throws: ``KilnError`` if the kernel holds an op no loop computes (a fusion bug).
    func renderLoopKernel(_ k: Int, _ kernel: KernelSpec, _ plan: LoopPlan) throws -> KernelCode {
        if let stray = plan.strays.first { throw unhandled(stray, "cannot be computed in a loop kernel") }
        if !plan.pools.isEmpty { return try renderPooledLoopKernel(k, kernel, plan) }
        if let fill = renderFill(plan) { return KernelCode(body: fill) }
        let whole = renderSummedProducts(plan) ?? renderProductPlusValue(kernel, plan)
        var gemms = whole ?? plan.matmuls.map(renderMatmul).joined()
        if profile && !gemms.isEmpty {
            gemms = "    int64_t g = kiln_clock_ns();\n" + gemms + "    \(profileCounter(.gemm, k)) += kiln_clock_ns() - g;\n"
        }
        if whole != nil { return KernelCode(body: gemms) }
        if let update = renderAdamUpdate(kernel, plan) { return KernelCode(body: gemms + update) }
        if let reduction = renderReductionCall(kernel, plan) { return KernelCode(body: gemms + reduction) }
        // Rows of up to half a block go several to a call; longer ones, and flat loops, one block a call.
        if let product = rowProduct(plan), let rows = try renderRowBlockLoop(k, kernel, plan, product: product) {
            return rows
        }
        if let rows = try renderRowBlockLoop(k, kernel, plan) { return KernelCode(ahead: rows.ahead, body: gemms + rows.body) }
        if let blocks = try renderBlockLoop(k, kernel, plan) { return KernelCode(ahead: blocks.ahead, body: gemms + blocks.body) }
        let loops = plan.flat && plan.shape.rank > 0 ? 1 : plan.shape.rank
        let indent = String(repeating: "    ", count: loops + 1)
        return KernelCode(body: try gemms + initialiseReductions(plan) + openLoops(plan)
            + loopBody(kernel, plan, indent: indent) + accumulateReductions(plan, indent: indent)
            + closeLoops(loops, reductions: plan.reductions, shape: plan.shape))
    }

    /// The product of a kernel whose loop is its epilogue, one output row of the product per
    /// row of the loop (a convolution's window rows times its filters, then the bias and the
    /// activation), as calls over chunks of rows: ``renderRowBlockLoop(_:_:_:product:)`` runs
    /// each chunk's epilogue right after its product, while the chunk is in the cache, instead
    /// of reading the whole product back from memory (11 MB for 128 maps of 26×26×32). Only
    /// for products Kiln's own narrow kernel runs (at most ``FuseWindowsIntoMatmul/widest``
    /// columns and ``FuseWindowsIntoMatmul/deepest`` deep), which packs nothing, so that a
    /// chunk costs no more than its share of one call; a library's packing would be paid per
    /// chunk. A convolution whose product gathers its window rows itself
    /// (``FuseWindowsIntoMatmul``) gathers each chunk's rows. `nil` for other kernels.
    func rowProduct(_ plan: LoopPlan) -> RowProduct? {
        guard plan.matmuls.count == 1, plan.reductions.isEmpty, let length = plan.shape.dims.last?.staticSize,
              length <= FuseWindowsIntoMatmul.widest else { return nil }
        let id = plan.matmuls[0], node = nodes[id.index], function = schedule.function
        guard case .matmul(false, let transposeB) = node.op, !transposeB, node.type.dtype == .float32, node.type.shape == plan.shape,
              let (_, _, k, _, a, b) = productOperands(id), let depth = k.staticSize, depth <= FuseWindowsIntoMatmul.deepest
        else { return nil }
        let aShape = nodes[node.inputs[0].index].type.shape, bShape = nodes[node.inputs[1].index].type.shape
        guard bShape.rank == 2, Array(aShape.dims.dropLast()) == Array(node.type.shape.dims.dropLast()) else { return nil }
        // About 32 KiB of the product a chunk, in whole tiles of the narrow kernel (48 rows).
        let chunk = Swift.max(48, 8_192 / length / 48 * 48)
        if let windows = function.imageWindows(readBy: id) {
            guard case .patches(let window, let padValue) = nodes[windows.index].op else { return nil }
            let image = nodes[windows.index].inputs[0]
            let arguments = windowArguments(window, image: nodes[image.index].type.shape, windows: nodes[windows.index].type.shape)
                + ", \(CSyntax.floatLiteral(padValue)), \(schedule.pointer(function.memoryRoot(image))), \(length), \(b)"
            return RowProduct(id: id, chunk: chunk, depth: depth) { first, count, c in
                "kiln_gemm_window_rows(\(arguments), \(first), \(count), \(c));"
            }
        }
        return RowProduct(id: id, chunk: chunk, depth: depth) { first, count, c in
            "kiln_gemm(0, 0, \(count), \(length), \(depth), \(a) + (\(first))*\(depth), \(b), \(c));"
        }
    }

    /// A product computed chunk by chunk of rows in a row-blocked loop (``rowProduct(_:)``).
    struct RowProduct {
        /// The product.
        var id: NodeID
        /// Rows a chunk.
        var chunk: Int
        /// The product's depth: multiply-adds per element of a row.
        var depth: Int
        /// The C call computing rows `[first, first + count)` of the product into `c`.
        var call: (_ first: String, _ count: String, _ c: String) -> String
    }

    /// The kernel that sums a stack of products `aᵀ b` (`[s, m, k]` and `[s, m, n]`) over the
    /// stack, which ``FuseMatmulEpilogue`` put together, as one GEMM: `a` and `b` viewed as
    /// `[s·m, k]` and `[s·m, n]`, whose rows follow one another in memory, give `[k, n]`
    /// straight into the sum's output; `nil` for other kernels.
    private func renderSummedProducts(_ plan: LoopPlan) -> String? {
        guard plan.matmuls.count == 1, plan.elementwise.isEmpty, plan.reductions.count == 1,
              nodes[plan.reductions[0].index].inputs == plan.matmuls,
              FuseMatmulEpilogue.sumsStack(nodes[plan.reductions[0].index], of: nodes[plan.matmuls[0].index], in: nodes)
        else { return nil }
        let product = nodes[plan.matmuls[0].index], function = schedule.function
        let a = nodes[product.inputs[0].index].type.shape, b = nodes[product.inputs[1].index].type.shape
        let rows = CSyntax.product([a[0], a[1]])
        let pb = schedule.pointer(function.aliasRoot(product.inputs[1])), sum = schedule.pointer(plan.reductions[0])
        if let windows = function.imageWindows(readBy: plan.matmuls[0]), case .patches(let window, let padValue) = nodes[windows.index].op {
            // A filter's gradient from the windows read in place (FuseWindowsIntoMatmul). The
            // per-image products' memory, which the sum never needs, holds the second half's sums.
            let image = nodes[windows.index].inputs[0]
            return "    kiln_gemm_windows_t(\(windowArguments(window, image: nodes[image.index].type.shape, windows: nodes[windows.index].type.shape)), "
                + "\(CSyntax.floatLiteral(padValue)), \(schedule.pointer(function.memoryRoot(image))), \(CSyntax.dim(b[2])), \(pb), \(sum), "
                + "\(schedule.pointer(plan.matmuls[0])));\n"
        }
        let pa = schedule.pointer(function.aliasRoot(product.inputs[0]))
        return "    kiln_gemm(1, 0, \(CSyntax.dim(a[2])), \(CSyntax.dim(b[2])), \(rows), \(pa), \(pb), \(sum));\n"
    }

    /// The kernel that only broadcasts a scalar constant over many floats (a zero initial
    /// state, the zeros a loop's gradient sum starts from), as one `kiln_fill_f32`: TinyCC's own
    /// loop stores a float every few nanoseconds. `nil` for other kernels, and for fills short
    /// enough that the call would cost more than the loop.
    private func renderFill(_ plan: LoopPlan) -> String? {
        guard plan.matmuls.isEmpty, plan.reductions.isEmpty, plan.elementwise.count == 1 else { return nil }
        let id = plan.elementwise[0], node = nodes[id.index]
        guard case .broadcast = node.op, let value = inlineValue(schedule.function.aliasRoot(node.inputs[0])) else { return nil }
        return fillCall(node.type, value, schedule.pointer(id))
    }

    /// `kiln_fill_f32` setting every element of a value of `type` at `pointer` to `value`, for
    /// a float32 value of a batch's size or of at least a block; `nil` for a shorter one,
    /// which TinyCC's own loop sets faster than the call.
    func fillCall(_ type: TensorType, _ value: String, _ pointer: String) -> String? {
        guard type.dtype == .float32, type.shape.hasBatch || (type.shape.staticProduct ?? 0) >= Self.blockLength else { return nil }
        return "    kiln_fill_f32(\(CSyntax.product(type.shape.dims)), \(value), \(pointer));\n"
    }

    /// The kernel whose elementwise members only add to a matrix product a value of the
    /// product's own type made outside the kernel (`d + a·b`, as a recurrent layer's loop step
    /// adds its weight gradient to the sum over the steps before it), a row of one value per
    /// column (`row + a·b`, a bias), or both (`(d + row) + a·b`, a recurrent step's input, its
    /// bias and `h·U`), as one `kiln_gemm_add` or `kiln_gemm_add_row`: the GEMM adds them to
    /// its sums as it stores them, instead of a second pass over the result. `nil` for other
    /// kernels, when the product or a partial sum is read outside the kernel, and when the sum
    /// is written in place of a variable the product reads.
    private func renderProductPlusValue(_ kernel: KernelSpec, _ plan: LoopPlan) -> String? {
        guard plan.matmuls.count == 1, (1...2).contains(plan.elementwise.count), plan.reductions.isEmpty,
              let sum = plan.elementwise.last, kernel.outputs == [sum]
        else { return nil }
        let product = plan.matmuls[0], matmul = nodes[product.index], function = schedule.function
        guard case .matmul = matmul.op, matmul.type.shape.rank == 2, matmul.type.dtype == .float32,
              function.imageWindows(readBy: product) == nil, let operands = productOperands(product)
        else { return nil }
        /// The other operand of an addition `node` with `operand` as one of its two operands.
        func otherOperand(_ node: NodeID, _ operand: NodeID) -> NodeID? {
            let add = nodes[node.index]
            guard case .binary(.add) = add.op, add.inputs.count == 2, add.inputs.filter({ $0 == operand }).count == 1
            else { return nil }
            return add.inputs.first { $0 != operand }
        }
        /// A value made outside the kernel, in memory: the array added (`d`) or the row.
        func addend(_ id: NodeID) -> (array: Bool, pointer: String)? {
            let type = nodes[id.index].type, root = function.aliasRoot(id)
            guard !nodes[root.index].op.isInline, !plan.elementwise.contains(id), type.dtype == .float32 else { return nil }
            if type == matmul.type { return (true, schedule.pointer(root)) }
            guard type.shape.rank == 1, type.shape[0] == matmul.type.shape[1] else { return nil }
            return (false, schedule.pointer(root))
        }
        guard nodes[sum.index].type == matmul.type, let outer = otherOperand(sum, product) else { return nil }
        var d: String?, row: String?
        if plan.elementwise.count == 2 {
            let inner = plan.elementwise[0]
            guard outer == inner, nodes[inner.index].type == matmul.type else { return nil }
            let innerNode = nodes[inner.index]
            guard case .binary(.add) = innerNode.op, innerNode.inputs.count == 2,
                  let first = addend(innerNode.inputs[0]), let second = addend(innerNode.inputs[1]), first.array != second.array
            else { return nil }
            (d, row) = first.array ? (first.pointer, second.pointer) : (second.pointer, first.pointer)
        } else {
            guard let only = addend(outer) else { return nil }
            if only.array { d = only.pointer } else { row = only.pointer }
        }
        if let variable = schedule.memory.inPlace[sum], matmul.inputs.contains(where: { function.aliasRoot($0) == variable }) {
            return nil
        }
        guard let row else {
            guard let d else { return nil }
            return "    kiln_gemm_add(\(operands.sizes), \(operands.a), \(operands.b), \(d), \(schedule.pointer(sum)));\n"
        }
        guard kernel.scratch.contains(product) else { return nil }
        return "    kiln_gemm_add_row(\(operands.sizes), \(operands.a), \(operands.b), \(d ?? "0"), \(row), "
            + "\(schedule.pointer(product)), \(schedule.pointer(sum)));\n"
    }

    /// The offset a value of shape `read` is read at in the loop: the flat index, the single
    /// element, or the broadcast position.
    func loopIndex(_ plan: LoopPlan) -> (Shape) -> String {
        let shape = plan.shape, flat = plan.flat
        return { read in
            if flat { return read == shape ? (shape.rank == 0 ? "0" : "i") : "0" }
            return Self.broadcastIndex(read, in: shape)
        }
    }

    /// Each reduction's output set to the identity of its operation.
    func initialiseReductions(_ plan: LoopPlan) -> String {
        var out = ""
        for reduction in plan.reductions {
            guard case .reduce(let op, _, _) = nodes[reduction.index].op else { continue }
            let type = nodes[reduction.index].type
            let initial: String
            switch op {
            case .max: initial = type.dtype == .float32 ? "(-1.0f/0.0f)" : "(-2147483647 - 1)"
            case .min: initial = type.dtype == .float32 ? "(1.0f/0.0f)" : "2147483647"
            case .sum, .mean: initial = "0"
            }
            let count = CSyntax.product(type.shape.dims), pointer = schedule.pointer(reduction)
            // Many elements (a reduction per pixel over a batch) are set by an optimised call:
            // TinyCC's own loop takes a few nanoseconds an element.
            out += fillCall(type, initial == "0" ? "0.0f" : initial, pointer)
                ?? "    for (int64_t o = 0; o < \(count); o++) \(pointer)[o] = \(initial);\n"
        }
        return out
    }

    /// The `for` headers: one flat loop, or one per axis of the iteration shape.
    private func openLoops(_ plan: LoopPlan) -> String {
        let shape = plan.shape
        if plan.flat && shape.rank > 0 { return "    for (int64_t i = 0; i < \(CSyntax.product(shape.dims)); i++) {\n" }
        var out = ""
        for axis in 0..<shape.rank {
            out += String(repeating: "    ", count: axis + 1)
                + "for (int64_t i\(axis) = 0; i\(axis) < \(CSyntax.dim(shape[axis])); i\(axis)++) {\n"
        }
        return out
    }

    /// Each elementwise member as a register, stored when it is needed outside the kernel.
    private func loopBody(_ kernel: KernelSpec, _ plan: LoopPlan, indent: String) throws -> String {
        let members = Set(kernel.members), outputs = Set(kernel.outputs), index = loopIndex(plan)
        var out = ""
        for member in plan.elementwise {
            let node = nodes[member.index]
            let operands = node.inputs.map { value($0, members: members, index: index) }
            out += "\(indent)\(CSyntax.type(node.type.dtype)) v\(member.index) = \(try expression(member, operands, index: index));\n"
            if outputs.contains(member) {
                out += "\(indent)\(schedule.pointer(member))[\(index(node.type.shape))] = v\(member.index);\n"
            }
        }
        return out
    }

    /// The C expression of an elementwise member over its operands' expressions.
    private func expression(_ member: NodeID, _ operands: [String], index: (Shape) -> String) throws -> String {
        let node = nodes[member.index]
        switch node.op {
        case .unary(let op): return CExpression.unary(op, operands[0], dtype: node.type.dtype)
        case .binary(let op): return CExpression.binary(op, operands[0], operands[1], dtype: node.type.dtype)
        case .compare(let op): return CExpression.compare(op, operands[0], operands[1])
        case .select: return "\(operands[0]) ? \(operands[1]) : \(operands[2])"
        case .cast(let dtype): return CExpression.cast(operands[0], from: nodes[node.inputs[0].index].type.dtype, to: dtype)
        case .elementCount(let counted): return "(float)(\(CSyntax.product(counted.dims)))"
        case .randomUniform: return "kiln_random_uniform(\(operands[0]), \(index(node.type.shape)))"
        case .broadcast: return operands[0]  // the operand's element at the broadcast position
        case .placeholder, .variable, .constant, .reduce, .argmax, .reshape, .transpose, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate,
             .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax, .stopGradient, .assign, .scan, .scanResult:
            throw unhandled(member, "is not an elementwise op")
        }
    }

    /// Each reduction's accumulation of its operand's element at the current position.
    private func accumulateReductions(_ plan: LoopPlan, indent: String) -> String {
        let members = Set(plan.elementwise + plan.reductions), index = loopIndex(plan)
        var out = ""
        for reduction in plan.reductions {
            guard case .reduce(let op, let axes, _) = nodes[reduction.index].op else { continue }
            let node = nodes[reduction.index]
            let x = value(node.inputs[0], members: members, index: index)
            var kept = plan.shape
            for axis in axes { kept[axis] = .size(1) }
            let target = "\(schedule.pointer(reduction))[\(Self.broadcastIndex(kept, in: plan.shape))]"
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
        return out
    }

    /// The closing braces of `loops` nested loops, then each mean's division of its sum by
    /// the number of elements it reduced.
    func closeLoops(_ loops: Int, reductions: [NodeID], shape: Shape) -> String {
        var out = ""
        for level in stride(from: loops, to: 0, by: -1) {
            out += String(repeating: "    ", count: level) + "}\n"
        }
        for reduction in reductions {
            out += meanDivision(reduction, over: shape, from: "0",
                                to: CSyntax.product(nodes[reduction.index].type.shape.dims), indent: "    ")
        }
        return out
    }

    /// For a mean over some axes of `shape`, the division of its sums `[from, to)` (C
    /// expressions of flat offsets) by the number of elements each reduced, a line at
    /// `indent`; nothing for another reduction.
    func meanDivision(_ reduction: NodeID, over shape: Shape, from: String, to: String, indent: String) -> String {
        guard case .reduce(.mean, let axes, _) = nodes[reduction.index].op else { return "" }
        let count = CSyntax.product(axes.map { shape[$0] }), pointer = schedule.pointer(reduction)
        return "\(indent)for (int64_t o = \(from); o < \(to); o++) \(pointer)[o] = \(pointer)[o] / (float)(\(count));\n"
    }

    /// The C expression of operand `id` inside the loop body: a member's register, an inline
    /// scalar, or an element read from memory.
    private func value(_ id: NodeID, members: Set<NodeID>, index: (Shape) -> String) -> String {
        if members.contains(id), !isMatmul(id) { return "v\(id.index)" }
        let root = schedule.function.aliasRoot(id)
        return inlineValue(root) ?? "\(schedule.pointer(root))[\(index(nodes[id.index].type.shape))]"
    }

    private func isMatmul(_ id: NodeID) -> Bool {
        if case .matmul = nodes[id.index].op { return true }
        return false
    }

    /// The C expression of the value at `root` when loops compute it in place instead of
    /// reading it from memory: a scalar constant or an element count; `nil` otherwise.
    func inlineValue(_ root: NodeID) -> String? {
        switch nodes[root.index].op {
        case .constant(let value):
            return value.scalarCount == 1 ? CSyntax.literal(value) : nil
        case .elementCount(let counted):
            return "((float)(\(CSyntax.product(counted.dims))))"
        case .placeholder, .variable, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape, .transpose,
             .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax,
             .randomUniform, .stopGradient, .assign, .scan, .scanResult:
            return nil  // in memory
        }
    }

    /// The error for a node a kernel cannot compute: a bug in fusion or scheduling, reported
    /// with the node's printer line rather than compiled into wrong C.
    func unhandled(_ id: NodeID, _ why: String) -> KilnError {
        KilnError(.invalidGraph, "internal error: \(Printer.line(nodes[id.index], id: id)) \(why)")
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
