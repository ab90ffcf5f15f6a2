import KilnGraph

/// Block lowering of a loop over short rows, `[rows, length]` with `length` at most
/// `KILN_BLOCK / 2` (the classes of a loss, the units of a small layer, the channels of an
/// image: the leading axes of a higher-rank loop are its rows), and of the sums along those
/// rows or over all of them: a block is `g` whole rows, flattened into `g * length` elements, and
/// each member is one primitive call over them, as in ``renderBlockLoop(_:_:_:)``. Per-row
/// operands (`[rows, 1]`) are repeated along each row, per-column ones (`[length]`) tiled
/// once, and ones broadcast along other leading axes copied row by row, so every operand is
/// a run or a single value; each sum along the rows adds a row's elements in order
/// (`kiln_vec_sum_groups`), and each sum over some leading axes adds whole rows into the row
/// of the result they belong to, in order (`kiln_vec_sum_columns`, `kiln_vec_add_rows`), as
/// the scalar loop does, so both give the same bits. A sum over all the rows of a value the
/// loop writes out (a bias gradient beside the gradient a filter's product reads) follows
/// the loop on many rows instead, split by columns between the cores (`kiln_sum_columns`),
/// so that the loop runs in parts and the sum keeps its order.
extension CRenderer {
    /// The body of a row-blocked loop, or `nil` when the kernel does not qualify. With
    /// `product`, the kernel's product is computed by the loop's parts, chunk by chunk of rows,
    /// each chunk just before the loop over its rows (`nil` when the loop does not run in parts);
    /// with `pools` too, each chunk's rows are pooled right after the loop over them, and
    /// chunks and parts are whole rows of windows.
    ///
    /// - Throws: ``KilnError`` if a member has no block primitive after all.
    func renderRowBlockLoop(_ k: Int, _ kernel: KernelSpec, _ plan: LoopPlan, product: RowProduct? = nil,
                            pools: PoolChunks? = nil) throws -> KernelCode? {
        let shape = plan.shape, rank = shape.rank
        let leading = Shape(Array(shape.dims.dropLast()))
        guard !plan.flat, rank >= 2, let length = shape[rank - 1].staticSize, length > 1, length <= Self.blockLength / 2,
              leading.hasBatch || (leading.staticProduct ?? 0) * length >= Self.minimumBlockLength * 4,
              plan.elementwise.allSatisfy({ blockable($0, shape: shape) && !isRandom($0) }),
              plan.reductions.allSatisfy({ rowSum($0) != nil })
        else { return nil }
        let outputs = Set(kernel.outputs)
        guard !plan.elementwise.contains(where: { isPassThrough($0) && outputs.contains($0) }) else { return nil }
        let group = Self.blockLength / length
        // The leading axes are one axis of rows: every operand reads whole rows, a value per
        // row, a value per column or a single value.
        let rows = CSyntax.product(leading.dims)
        // Tiles need as many rows as a block takes: all of them when there are fewer.
        let tiled = leading.hasBatch ? "(\(rows) < \(group) ? \(rows) : \(group))" : String(Swift.min(leading.staticProduct ?? 0, group))
        var operands = RowOperands(renderer: self, shape: shape, tiledRows: tiled)
        // The product (which only this kernel reads) is computed into a chunk on the stack, `kq`,
        // and read from there: it is never written to memory.
        if let product {
            guard !outputs.contains(product.id) else { return nil }
            operands.set(product.id, BlockOperand(pointer: "kq + (r - q)*\(length)", stride: 1))
        }
        // `relu(product + bias)` alone, or with its mask: one call per chunk (``biasRelu(_:product:outputs:length:)``).
        var biasRelu: String?
        if let product { biasRelu = self.biasRelu(plan, product: product.id, outputs: outputs, length: length) }
        var body = ""
        for member in plan.elementwise where biasRelu == nil {
            let node = nodes[member.index]
            if isPassThrough(member) {
                guard operands.alias(member, to: node.inputs[0]) else { return nil }
                continue
            }
            let destination = blockDestination(member, outputs: outputs, offset: "r*\(length)",
                                               declarations: &operands.declarations)
            var arguments: [String] = []
            for input in node.inputs {
                guard let operand = operands.operand(input) else { return nil }
                arguments.append("\(operand.pointer), \(operand.stride)")
            }
            let primitive = try self.primitive(node.op, input: nodes[node.inputs[0].index].type.dtype, member: member)
            body += operands.takeExpansions()
            body += "        kiln_vec_\(primitive)(m, " + arguments.joined(separator: ", ") + ", \(destination));\n"
            operands.set(member, BlockOperand(pointer: destination, stride: 1))
        }
        // Sums over every row of a value whose rows are all in memory once the loop is done (one
        // the kernel writes out, or reads whole) follow the loop instead, split by columns
        // between the cores (`kiln_sum_columns`), so that the loop can run in parts.
        var serialSums = "", sumsAfter = "", split = 0
        for reduction in plan.reductions {
            let input = nodes[reduction.index].inputs[0]
            guard let x = operands.operand(input) else { return nil }
            body += operands.takeExpansions()
            switch rowSum(reduction) {
            case .overRows:
                let whole = schedule.pointer(schedule.function.aliasRoot(input))
                if x.stride == 1 && x.pointer == "\(whole) + r*\(length)" {
                    sumsAfter += "    kiln_sum_columns(\(rows), \(length), \(whole), \(schedule.pointer(reduction)));\n"
                    split += 1
                }
                serialSums += "        kiln_vec_sum_columns(g, \(length), \(x.pointer), \(x.stride), \(schedule.pointer(reduction)));\n"
            case .alongRows:
                body += "        kiln_vec_sum_groups(g, \(length), \(x.pointer), \(x.stride), \(schedule.pointer(reduction)) + r);\n"
            case .overLeading(let axes):
                // The result's rows, as a value of one element along the axes summed over.
                let summed = Shape(shape.dims.enumerated().map { axes.contains($0.offset) ? .size(1) : $0.element })
                let strides = operands.rowStrides(summed)
                operands.declarations += "    const int64_t os\(reduction.index)[\(rank - 1)] = {\(strides.joined(separator: ", "))};\n"
                body += "        kiln_vec_add_rows(g, \(length), \(rank - 1), \(operands.leadingDims()), os\(reduction.index), r, "
                    + "\(x.pointer), \(x.stride), \(schedule.pointer(reduction)));\n"
            case nil:
                return nil
            }
        }
        // Split by columns when each of two cores can take whole cache lines of every row.
        let splitSums = split > 0 && split == plan.reductions.filter({ rowSum($0) == .overRows }).count && length >= 32
        let close = closeLoops(0, reductions: plan.reductions, shape: shape)
        if splitSums && body.isEmpty {
            return KernelCode(body: initialiseReductions(plan) + sumsAfter + close)
        }
        func loop(_ begin: String, _ end: String, _ body: String) -> String {
            "    for (int64_t r = \(begin); r < \(end); r += \(group)) {\n"
                + "        int64_t g = \(end) - r < \(group) ? \(end) - r : \(group);\n"
                + "        int64_t m = g * \(length);\n" + body + "    }\n"
        }
        func indented(_ text: String) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "    " + $0 }
                .joined(separator: "\n")
        }
        // Rows computed alone, or summed only within the rows of one index of the first axis,
        // split between the cores when there are many: in parts of whole first-axis indices
        // when a sum crosses rows, so that each sum is added up by one core in order. Sums
        // over every row split by columns follow the parts; fewer rows than pay for the split
        // keep the sums in the loop, while the rows are in the cache.
        let (name, prologue, arguments) = partFunction(k, kernel, what: "rows")
        let sumsWithin = plan.reductions.contains(where: { if case .overLeading = rowSum($0) { true } else { false } })
        // Parts of single rows when each chunk is one call (bias and relu): halves of 100 rows
        // are 50 each, not 48 and 52 in blocks of 4.
        let grain = sumsWithin ? (Shape(Array(leading.dims.dropFirst())).staticProduct ?? 0)
            : pools?.unit ?? (biasRelu != nil ? 1 : group)
        if !plan.reductions.contains(where: { (rowSum($0) == .overRows && !splitSums) || rowSum($0) == nil }), !canFault(kernel), grain > 0,
           !sumsWithin || shape[0] == .batch || shape[0].staticSize.map({ $0 > 1 }) == true,
           let run = partsCall(name, total: rows, grain: grain, shape: shape, depth: product?.depth ?? 1) {
            if var product {
                if let pools { product.chunk = Swift.max(pools.unit, product.chunk / pools.unit * pools.unit) }
                // Each chunk's product, then the loop over its rows.
                // Profiled, the parts add up their GEMMs' time and their own, from every core: the
                // kernel's GEMM share is the ratio of the two.
                let gemm = profile ? ["        int64_t kg0 = kiln_clock_ns();\n", "        kg += kiln_clock_ns() - kg0;\n"] : ["", ""]
                let epilogue = biasRelu.map { "        \($0)\n" } ?? indented(loop("q", "qe", body))
                let chunks = "    float kq[\(product.chunk * length)];\n"
                    + (profile ? "    int64_t kp = kiln_clock_ns(), kg = 0;\n" : "")
                    + "    for (int64_t q = begin; q < end; q += \(product.chunk)) {\n"
                    + "        int64_t qe = end - q < \(product.chunk) ? end : q + \(product.chunk);\n"
                    + gemm[0] + "        \(product.call("q", "qe - q", "kq"))\n" + gemm[1]
                    + epilogue + (pools?.code("q", "qe", "        ") ?? "") + "    }\n"
                    + (profile ? "    kiln_profile_add(&\(profileCounter(.gemm, k)), kg);\n"
                        + "    kiln_profile_add(&\(profileCounter(.parts, k)), kiln_clock_ns() - kp);\n" : "")
                let part = prologue + operands.declarations + operands.tiles + chunks + "}\n"
                return KernelCode(ahead: part, body: arguments + run)
            }
            let part = prologue + operands.declarations + operands.tiles + loop("begin", "end", body) + "}\n"
            guard splitSums else {
                return KernelCode(ahead: part, body: initialiseReductions(plan) + arguments + run + close)
            }
            let parallel = arguments + "    kiln_parallel_for_grain(\(rows), n, \(grain), \(name), args);\n" + sumsAfter
            guard case .when(let condition) = partsRule(shape) else {
                return KernelCode(ahead: part, body: initialiseReductions(plan) + parallel + close)
            }
            let serial = operands.declarations + operands.tiles + loop("0", rows, body + serialSums)
            return KernelCode(ahead: part, body: initialiseReductions(plan) + "    if (\(condition)) {\n" + indented(parallel)
                + "    } else {\n" + indented(serial) + "    }\n" + close)
        }
        guard product == nil else { return nil }
        return KernelCode(body: operands.declarations + operands.tiles + initialiseReductions(plan)
            + loop("0", rows, body + serialSums) + close)
    }

    /// The call computing `relu(product + bias)` for a chunk's rows `[q, qe)` from the product
    /// in `kq`, and with it the mask `product + bias > 0` when the kernel writes that too (what
    /// relu's gradient reads in a training step), when that is all a product's loop does (a
    /// convolution or dense layer's bias and activation): `kiln_bias_relu_rows`, one call per
    /// chunk with the bits of the add, relu and comparison calls per block of rows it replaces.
    /// `nil` for any other loop, or when the sum before the relu is needed outside the kernel.
    private func biasRelu(_ plan: LoopPlan, product: NodeID, outputs: Set<NodeID>, length: Int) -> String? {
        guard let members = biasReluMembers(plan, product: product, length: length), !outputs.contains(members.sum),
              outputs.contains(members.relu), members.mask.map(outputs.contains) ?? true
        else { return nil }
        let positive = members.mask.map { "\(schedule.pointer($0)) + q*\(length)" } ?? "(uint8_t *)0"
        return "kiln_bias_relu_rows(qe - q, \(length), kq, \(schedule.pointer(members.bias)), \(schedule.pointer(members.relu)) + q*\(length), "
            + "\(positive));"
    }

    /// The members of a loop that is `relu(product + bias)` and nothing else, with the bias a
    /// row of `length` floats in memory (its alias root), and perhaps the mask `product + bias
    /// > 0`; `nil` for any other loop. Which of them the kernel writes is the caller's to check.
    func biasReluMembers(_ plan: LoopPlan, product: NodeID, length: Int) -> (sum: NodeID, bias: NodeID, relu: NodeID, mask: NodeID?)? {
        guard plan.reductions.isEmpty, plan.elementwise.count == 2 || plan.elementwise.count == 3 else { return nil }
        let sumID = plan.elementwise[0], sum = nodes[sumID.index]
        guard case .binary(.add) = sum.op,
              sum.inputs.filter({ $0 == product }).count == 1, let bias = sum.inputs.first(where: { $0 != product }),
              nodes[bias.index].type == TensorType(.float32, Shape([.size(length)]))
        else { return nil }
        var relu: NodeID?, mask: NodeID?
        for member in plan.elementwise.dropFirst() {
            let node = nodes[member.index]
            guard node.inputs.first == sumID else { return nil }
            switch node.op {
            case .unary(.relu) where node.inputs.count == 1 && relu == nil:
                relu = member
            case .compare(.greater) where node.inputs.count == 2 && mask == nil && nodes.isPositiveZero(node.inputs[1]):
                mask = member
            default:
                return nil
            }
        }
        let root = schedule.function.aliasRoot(bias)
        guard let relu, !nodes[root.index].op.isInline else { return nil }
        return (sumID, root, relu, mask)
    }

    /// Whether `id` draws random numbers, whose positions a row block does not follow.
    private func isRandom(_ id: NodeID) -> Bool {
        if case .randomUniform = nodes[id.index].op { return true }
        return false
    }

    /// How a reduction adds up rows: along each row (the innermost axis), over all the rows
    /// (every axis but the innermost), or over some leading axes other than the first (a
    /// pooling's window axes), each row into the result's row it belongs to.
    private enum RowSum: Equatable { case alongRows, overRows, overLeading([Int]) }

    /// The kind of a `float32` sum or mean a row-blocked loop accumulates, or `nil` for any
    /// other reduction.
    private func rowSum(_ id: NodeID) -> RowSum? {
        guard case .reduce(let op, let axes, _) = nodes[id.index].op, nodes[id.index].type.dtype == .float32 else { return nil }
        let rank = nodes[nodes[id.index].inputs[0].index].type.shape.rank
        switch op {
        case .sum, .mean:
            if axes == [rank - 1] { return .alongRows }
            if rank >= 2 && axes == Array(0..<(rank - 1)) { return .overRows }
            guard rank - 1 <= RowOperands.gatherRankLimit, !axes.isEmpty, !axes.contains(0), !axes.contains(rank - 1) else { return nil }
            return .overLeading(axes)
        case .max, .min:
            return nil
        }
    }

    /// The operands of a row-blocked loop's calls: runs of the block's rows, single values,
    /// and per-row or per-column values copied out to runs.
    struct RowOperands {
        let renderer: CRenderer
        /// The iteration shape: rows along its leading axes, `length` along its last.
        let shape: Shape
        let length: Int
        /// The C expression of the rows a tile covers.
        let tiledRows: String
        var declarations = ""
        /// Whether `lead_dims`, the sizes of the leading axes, is declared.
        private var declaredDims = false
        /// Per-column values tiled over a block's rows, once, before the loop.
        var tiles = ""
        /// Per-row values repeated along the block's rows, before the call that first reads them.
        private var expansions = ""
        private var known: [NodeID: BlockOperand] = [:]

        init(renderer: CRenderer, shape: Shape, tiledRows: String) {
            self.renderer = renderer
            self.shape = shape
            length = shape[shape.rank - 1].staticSize ?? 0
            self.tiledRows = tiledRows
        }

        mutating func set(_ member: NodeID, _ value: BlockOperand) { known[member] = value }

        /// Makes `member` read as `operand` does; `false` if the operand has no form here.
        mutating func alias(_ member: NodeID, to operand: NodeID) -> Bool {
            guard let value = self.operand(operand) else { return false }
            known[member] = value
            return true
        }

        /// The expansion calls the last operands needed, to put before the call reading them.
        mutating func takeExpansions() -> String {
            defer { expansions = "" }
            return expansions
        }

        /// The pointer and stride of `id`'s elements for the block, or `nil` for a shape this
        /// loop cannot read (or a per-row or per-column value that is not `float32`).
        mutating func operand(_ id: NodeID) -> BlockOperand? {
            if let value = known[id] { return value }
            let nodes = renderer.nodes, schedule = renderer.schedule
            let root = schedule.function.aliasRoot(id)
            let read = nodes[id.index].type.shape
            let pointer = schedule.pointer(root)
            let made: BlockOperand
            let floats = nodes[id.index].type.dtype == .float32
            if let inline = renderer.inlineBlockOperand(id, root: root) {
                declarations += inline.declaration
                made = inline.operand
            } else if read.staticProduct == 1 && !read.hasBatch {
                made = BlockOperand(pointer: pointer, stride: 0)
            } else if read == shape {
                made = BlockOperand(pointer: "\(pointer) + r*\(length)", stride: 1)
            } else if read.rank == shape.rank && read.dims.dropLast() == shape.dims.dropLast() && read[read.rank - 1] == .size(1)
                        && floats {
                declarations += "    float e\(id.index)[KILN_BLOCK];\n"
                expansions += "        kiln_vec_repeat_rows(g, \(length), \(pointer) + r, e\(id.index));\n"
                made = BlockOperand(pointer: "e\(id.index)", stride: 1)
            } else if read.rank >= 1, read.rank <= shape.rank, read[read.rank - 1] == .size(length),
                      read.dims.dropLast().allSatisfy({ $0 == .size(1) }), floats {
                declarations += "    float t\(id.index)[KILN_BLOCK];\n"
                tiles += "    kiln_vec_tile(\(tiledRows), \(length), \(pointer), t\(id.index));\n"
                made = BlockOperand(pointer: "t\(id.index)", stride: 1)
            } else if let strides = gatheredStrides(read), floats {
                let rank = shape.rank - 1
                declarations += "    const int64_t gs\(id.index)[\(rank)] = {\(strides.joined(separator: ", "))};\n"
                    + "    float e\(id.index)[KILN_BLOCK];\n"
                expansions += "        kiln_vec_gather_rows(g, \(length), \(rank), \(leadingDims()), gs\(id.index), r, \(pointer), "
                    + "e\(id.index));\n"
                made = BlockOperand(pointer: "e\(id.index)", stride: 1)
            } else {
                return nil
            }
            known[id] = made
            return made
        }

        /// The name of the C array of the leading axes' sizes (`lead_dims`), declared on first use.
        mutating func leadingDims() -> String {
            if !declaredDims {
                let dims = (0..<(shape.rank - 1)).map { CSyntax.product([shape[$0]]) }
                declarations += "    const int64_t lead_dims[\(shape.rank - 1)] = {\(dims.joined(separator: ", "))};\n"
                declaredDims = true
            }
            return "lead_dims"
        }

        /// For a value broadcast along some leading axes (a pooling's gradient per window,
        /// `[n, h, 1, w, 1, c]` over `[n, h, 2, w, 2, c]`), its strides in rows (``rowStrides(_:)``),
        /// for `kiln_vec_gather_rows`; nil for another shape.
        private func gatheredStrides(_ read: Shape) -> [String]? {
            let rank = shape.rank - 1
            guard read.rank == shape.rank, read[rank] == .size(length), rank <= Self.gatherRankLimit,
                  (0..<rank).allSatisfy({ read[$0] == shape[$0] || read[$0] == .size(1) }) else { return nil }
            return rowStrides(read)
        }

        /// The stride in rows, along each leading axis of the loop, of a value whose leading
        /// axes are the loop's or of one element (broadcast over, or summed over): 0 along the
        /// latter, for `kiln_vec_gather_rows` and `kiln_vec_add_rows`.
        func rowStrides(_ value: Shape) -> [String] {
            let rank = shape.rank - 1
            return (0..<rank).map { axis in
                value[axis] == shape[axis] ? CSyntax.product(Array(value.dims[(axis + 1)..<rank])) : "0"
            }
        }

        /// The most leading axes `kiln_vec_gather_rows` takes (`KILN_WALK_MAX_RANK`).
        static let gatherRankLimit = 16
    }
}
