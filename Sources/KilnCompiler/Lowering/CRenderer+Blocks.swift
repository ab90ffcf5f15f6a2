import KilnGraph

/// Block lowering of a loop kernel: the innermost loop is cut into blocks of `KILN_BLOCK`
/// elements and each member becomes one call to a block primitive of the runtime
/// (`kiln_vec_add`, `kiln_vec_sqrt`, ...; Kernels/vector.c), which an optimizing compiler
/// vectorised. TinyCC compiles scalar loops without registers or SIMD, so on large arrays
/// (optimizer updates, activations over a batch) the calls are several times faster, and
/// give the same bits: each primitive computes an element with the scalar loop's expression.
///
/// Kernels with ops the primitives do not cover (`int32` arithmetic, element counts,
/// reductions along the innermost axis) and small ones stay scalar loops.
extension CRenderer {
    /// A member's or operand's elements for one block: a pointer expression and a stride of
    /// 1 (a run of `m` elements) or 0 (one value for the whole block).
    struct BlockOperand {
        var pointer: String
        var stride: Int
    }

    /// Loops over fewer elements than this stay scalar: the calls would cost more than they save.
    static let minimumBlockLength = 16

    /// The elements of a block: `KILN_BLOCK` in Kernels/kiln_prelude.h.
    static let blockLength = 256

    /// The body of a block-lowered loop, or `nil` when the kernel must stay scalar.
    ///
    /// - Throws: ``KilnError`` if a member has no block primitive after all (a bug in `blockable`).
    func renderBlockLoop(_ k: Int, _ kernel: KernelSpec, _ plan: LoopPlan) throws -> KernelCode? {
        guard canBlock(kernel, plan) else { return nil }
        var operands = BlockOperands(renderer: self, plan: plan)
        let body = try blockCalls(kernel, plan, &operands)
        if runsInParts(kernel, plan), let parts = renderParts(k, kernel, plan, declarations: operands.declarations, body: body) {
            return parts
        }
        if let parts = renderOuterParts(k, kernel, plan, declarations: operands.declarations, body: body) { return parts }
        var out = operands.declarations + initialiseReductions(plan)
        let rank = plan.shape.rank
        let (open, indent) = openBlockLoops(plan)
        out += open
        for line in body.split(separator: "\n") { out += indent + line + "\n" }
        return KernelCode(body: out + closeLoops(plan.flat ? 1 : rank, reductions: plan.reductions, shape: plan.shape))
    }

    /// Flat loops without reductions over at least this many elements run in parts on every
    /// core (`kiln_parallel_for`): each element is computed alone, so the parts give the bits
    /// of one loop. A loop over a batch is tested when it runs.
    static let minimumParallelLength = 65_536

    /// Whether the kernel's blocks may run in parts on every core (when it has elements enough).
    private func runsInParts(_ kernel: KernelSpec, _ plan: LoopPlan) -> Bool {
        plan.flat && plan.reductions.isEmpty && !canFault(kernel)
    }

    /// A block loop split into parts: the part function `k<k>_part` (the kernel's pointers
    /// passed in `args`, in parameter order), which goes ahead of the kernel, and the call
    /// that runs the parts; `nil` when the loop has too few elements whatever the batch.
    private func renderParts(_ k: Int, _ kernel: KernelSpec, _ plan: LoopPlan, declarations: String, body: String) -> KernelCode? {
        let (name, prologue, arguments) = partFunction(k, kernel, what: "blocks")
        let count = CSyntax.product(plan.shape.dims)
        guard let run = inParts(name, total: count, rule: partsRule(plan.shape), call: "kiln_parallel_for(\(count), n, \(name), args)")
        else { return nil }
        var part = prologue + declarations
        part += "    for (int64_t i = begin; i < end; i += KILN_BLOCK) {\n"
        part += "        int64_t m = end - i < KILN_BLOCK ? end - i : KILN_BLOCK;\n"
        for line in body.split(separator: "\n") { part += "    " + line + "\n" }
        part += "    }\n}\n"
        return KernelCode(ahead: part, body: arguments + run)
    }

    /// A loop nest whose first axis no reduction sums over, split along that axis between the
    /// cores when it has many elements (pooling over images: each image alone): the part
    /// function runs the nest over `i0` in `[begin, end)`, so each element and each reduced
    /// value is computed as in one nest, with the same bits.
    private func renderOuterParts(_ k: Int, _ kernel: KernelSpec, _ plan: LoopPlan, declarations: String,
                                  body: String) -> KernelCode? {
        let shape = plan.shape, rank = shape.rank
        guard !plan.flat, rank >= 2, !canFault(kernel), plan.reductions.allSatisfy({ id in
            if case .reduce(_, let axes, _) = nodes[id.index].op { return !axes.contains(0) }
            return false
        }) else { return nil }
        let (name, prologue, arguments) = partFunction(k, kernel, what: "rows of the first axis")
        guard let run = partsCall(name, total: CSyntax.dim(shape[0]), grain: 1, shape: shape) else { return nil }
        let (open, indent) = openBlockLoops(plan, first: ("begin", "end"))
        var part = prologue + declarations + open
        for line in body.split(separator: "\n") { part += indent + line + "\n" }
        part += closeLoops(rank, reductions: [], shape: shape) + "}\n"
        return KernelCode(ahead: part, body: initialiseReductions(plan) + arguments + run
                          + closeLoops(0, reductions: plan.reductions, shape: shape))
    }

    /// The call that runs part function `name` over `total` in parts of whole `grain`s when
    /// the loop over `shape` has at least ``minimumParallelLength`` elements (tested at run
    /// time when the batch size counts), or `nil` when it has fewer whatever the batch.
    /// With `depth`, each element is also a product's sum of `depth` terms, computed in the
    /// loop (``rowProduct(_:)``): the loop runs in parts when it has elements enough or
    /// ``minimumParallelProduct`` multiply-adds.
    func partsCall(_ name: String, total: String, grain: Int, shape: Shape, depth: Int = 1) -> String? {
        inParts(name, total: total, rule: partsRule(shape, depth: depth),
                call: "kiln_parallel_for_grain(\(total), n, \(grain), \(name), args)")
    }

    /// A product with its epilogue of at least this many multiply-adds runs in parts on every
    /// core: a convolution's on one image (conv1 of the convnet, 24×24×32 sums of 9 terms:
    /// 1.7 × 10⁵) takes several microseconds on one core, the parts' start about one.
    static let minimumParallelProduct = 131_072

    /// `call`, which runs part function `name` over `total` in parts, under `rule`, with the
    /// whole of `total` run inline when the test fails; `nil` when the loop never runs in
    /// parts.
    private func inParts(_ name: String, total: String, rule: PartsRule, call: String) -> String? {
        switch rule {
        case .never: nil
        case .always: "    \(call);\n"
        case .when(let condition): "    if (\(condition)) \(call);\n    else \(name)(0, \(total), n, args);\n"
        }
    }

    /// When a loop over `shape` runs in parts: never or always for a static shape, by its
    /// count of elements, and for a batch's, the C test of its count as it runs.
    enum PartsRule { case never, always, when(String) }

    /// The ``PartsRule`` of a loop over `shape`: at least ``minimumParallelLength`` elements,
    /// or, when each element is also a product's sum of `depth` terms, at least
    /// ``minimumParallelProduct`` multiply-adds.
    func partsRule(_ shape: Shape, depth: Int = 1) -> PartsRule {
        let least = Swift.min(Self.minimumParallelLength, (Self.minimumParallelProduct + depth - 1) / Swift.max(depth, 1))
        guard shape.hasBatch else { return (shape.staticProduct ?? 0) >= least ? .always : .never }
        return .when("\(CSyntax.product(shape.dims)) >= \(least)")
    }

    /// The part function `k<k>_part` of a kernel run in parts: its name, its opening (the
    /// kernel's pointers taken from `args`, in parameter order, then `extra`: a declaration
    /// taking `args[i]` for each `%ARG%`, and the value the kernel passes there), and the
    /// declaration of the `args` the kernel passes it.
    func partFunction(_ k: Int, _ kernel: KernelSpec, what: String, extra: [(declaration: String, value: String)] = [])
        -> (name: String, prologue: String, arguments: String) {
        let name = prefix + "k\(k)_part"
        let values = kernel.inputs + kernel.outputs + kernel.scratch
        var part = "/* \(name): \(what) [begin, end) of kernel k\(k), run in parts on every core. */\n"
            + "static void \(name)(int64_t begin, int64_t end, int64_t n, void *const *args) {\n"
        for (index, value) in values.enumerated() {
            let readOnly = kernel.inputs.contains(value) ? "const " : ""
            let type = CSyntax.type(nodes[value.index].type.dtype)
            part += "    \(readOnly)\(type) *\(schedule.pointer(value)) = (\(readOnly)\(type) *)args[\(index)];\n"
        }
        for (offset, item) in extra.enumerated() {
            part += "    " + item.declaration.replacing("%ARG%", with: "args[\(values.count + offset)]") + "\n"
        }
        // A part may leave some of the kernel's pointers to the code around it (a GEMM's operands).
        part += "    (void)n;" + values.map { " (void)\(schedule.pointer($0));" }.joined() + "\n"
        let pointers = (values.map { "(void *)\(schedule.pointer($0))" } + extra.map(\.value)).joined(separator: ", ")
        return (name, part, "    void *const args[] = {\(pointers)};\n")
    }

    /// Whether every member has a primitive and the blocked axis is long enough to pay.
    private func canBlock(_ kernel: KernelSpec, _ plan: LoopPlan) -> Bool {
        let shape = plan.shape, rank = shape.rank
        guard rank > 0 else { return false }
        if plan.flat && shape.staticProduct.map({ $0 < Self.minimumBlockLength * 4 }) == true { return false }
        if !plan.flat, let size = shape[rank - 1].staticSize, size < Self.minimumBlockLength { return false }
        guard plan.elementwise.allSatisfy({ blockable($0, shape: shape) }),
              plan.reductions.allSatisfy({ blockableReduction($0, shape: shape, flat: plan.flat) })
        else { return false }
        // A pass-through member has no elements of its own to write.
        let outputs = Set(kernel.outputs)
        return !plan.elementwise.contains { isPassThrough($0) && outputs.contains($0) }
    }

    /// One primitive call per member and reduction, over a block of `m` elements.
    private func blockCalls(_ kernel: KernelSpec, _ plan: LoopPlan, _ operands: inout BlockOperands) throws -> String {
        let outputs = Set(kernel.outputs)
        var body = ""
        for member in plan.elementwise {
            let node = nodes[member.index]
            if isPassThrough(member) {
                operands.alias(member, to: node.inputs[0])
                continue
            }
            let destination = blockDestination(member, outputs: outputs, offset: operands.index(plan.shape),
                                               declarations: &operands.declarations)
            if case .randomUniform = node.op {
                // Each number is a function of the seed and its position: the block's start.
                let seed = operands.operand(node.inputs[0])
                body += "    kiln_vec_random_uniform(m, \(seed.pointer), \(operands.index(plan.shape)), \(destination));\n"
                operands.set(member, BlockOperand(pointer: destination, stride: 1))
                continue
            }
            let arguments = node.inputs.map { operands.operand($0) }.map { "\($0.pointer), \($0.stride)" }
            let primitive = try self.primitive(node.op, input: nodes[node.inputs[0].index].type.dtype, member: member)
            body += "    kiln_vec_\(primitive)(m, " + arguments.joined(separator: ", ") + ", \(destination));\n"
            operands.set(member, BlockOperand(pointer: destination, stride: 1))
        }
        for reduction in plan.reductions {
            guard case .reduce(let op, let axes, _) = nodes[reduction.index].op else { continue }
            var kept = plan.shape
            for axis in axes { kept[axis] = .size(1) }
            let x = operands.operand(nodes[reduction.index].inputs[0])
            let primitive = switch op {
            case .sum, .mean: "sum_rows"
            case .max: "max_rows"
            case .min: "min_rows"
            }
            body += "    kiln_vec_\(primitive)(m, \(x.pointer), \(x.stride), \(schedule.pointer(reduction)) + \(operands.index(kept)));\n"
        }
        return body
    }

    /// The loops over the outer axes (none when flat) and the blocked loop with its `m`, and
    /// the indent of the body.
    private func openBlockLoops(_ plan: LoopPlan, first: (String, String)? = nil) -> (String, String) {
        let shape = plan.shape, rank = shape.rank
        let length = plan.flat ? CSyntax.product(shape.dims) : CSyntax.dim(shape[rank - 1])
        var out = "", indent = "    "
        let blocked = plan.flat ? "i" : "i\(rank - 1)"
        if !plan.flat {
            for axis in 0..<(rank - 1) {
                let (start, end) = axis == 0 ? first ?? ("0", CSyntax.dim(shape[0])) : ("0", CSyntax.dim(shape[axis]))
                out += "\(indent)for (int64_t i\(axis) = \(start); i\(axis) < \(end); i\(axis)++) {\n"
                indent += "    "
            }
        }
        out += "\(indent)for (int64_t \(blocked) = 0; \(blocked) < \(length); \(blocked) += KILN_BLOCK) {\n"
        out += "\(indent)    int64_t m = \(length) - \(blocked) < KILN_BLOCK ? \(length) - \(blocked) : KILN_BLOCK;\n"
        return (out, indent)
    }

    /// The operands of a block loop's calls, with the declarations of the block arrays and
    /// inline scalars they need.
    struct BlockOperands {
        let renderer: CRenderer
        let plan: LoopPlan
        /// The offset of a read of a shape at the block's start (the loop's own index).
        let index: (Shape) -> String
        var declarations = ""
        private var known: [NodeID: BlockOperand] = [:]

        init(renderer: CRenderer, plan: LoopPlan) {
            self.renderer = renderer
            self.plan = plan
            index = renderer.loopIndex(plan)
        }

        /// 1 when a read of shape `read` advances with the blocked axis, 0 when it stays on one value.
        private func runStride(_ read: Shape) -> Int {
            let shape = plan.shape, rank = shape.rank
            if plan.flat { return read == shape ? 1 : 0 }
            return read.rank > 0 && read[read.rank - 1] == shape[rank - 1] && shape[rank - 1] != .size(1) ? 1 : 0
        }

        /// Makes `member` read as `operand` does (a pass-through member).
        mutating func alias(_ member: NodeID, to operand: NodeID) { known[member] = self.operand(operand) }

        mutating func set(_ member: NodeID, _ value: BlockOperand) { known[member] = value }

        /// The pointer and stride of `id`'s elements, declaring an inline scalar the first time.
        mutating func operand(_ id: NodeID) -> BlockOperand {
            if let value = known[id] { return value }
            let nodes = renderer.nodes, schedule = renderer.schedule
            let root = schedule.function.aliasRoot(id)
            let made: BlockOperand
            if let inline = renderer.inlineBlockOperand(id, root: root) {
                declarations += inline.declaration
                made = inline.operand
            } else {
                let read = nodes[id.index].type.shape
                let offset = index(read)
                made = BlockOperand(pointer: offset == "0" ? schedule.pointer(root) : "\(schedule.pointer(root)) + \(offset)",
                                    stride: runStride(read))
            }
            known[id] = made
            return made
        }
    }

    /// Where a primitive writes `member` for the block: its output at `offset`, or a block
    /// array declared for it when nothing outside the kernel reads it.
    func blockDestination(_ member: NodeID, outputs: Set<NodeID>, offset: String, declarations: inout String) -> String {
        guard !outputs.contains(member) else { return "\(schedule.pointer(member)) + \(offset)" }
        declarations += "    \(CSyntax.type(nodes[member.index].type.dtype)) v\(member.index)[KILN_BLOCK];\n"
        return "v\(member.index)"
    }

    /// An operand a block loop computes in place (a scalar constant or an element count, at
    /// `root`, read as `id`): its declaration and its single value; `nil` for one in memory.
    func inlineBlockOperand(_ id: NodeID, root: NodeID) -> (declaration: String, operand: BlockOperand)? {
        switch nodes[root.index].op {
        case .constant(let value) where value.scalarCount == 1:
            return ("    const \(CSyntax.type(value.dtype)) c\(id.index) = \(CSyntax.literal(value));\n",
                    BlockOperand(pointer: "&c\(id.index)", stride: 0))
        case .elementCount(let counted):
            return ("    const float c\(id.index) = (float)(\(CSyntax.product(counted.dims)));\n",
                    BlockOperand(pointer: "&c\(id.index)", stride: 0))
        case .placeholder, .variable, .constant, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape,
             .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax,
             .logSoftmax, .randomUniform, .stopGradient, .assign, .scan, .scanResult:
            return nil  // in memory
        }
    }

    /// A member whose elements are its operand's: a broadcast, or a cast to the same type.
    func isPassThrough(_ id: NodeID) -> Bool {
        let node = nodes[id.index]
        switch node.op {
        case .broadcast:
            return true
        case .cast(let dtype):
            return dtype == nodes[node.inputs[0].index].type.dtype
        case .placeholder, .variable, .constant, .elementCount, .unary, .binary, .compare, .select, .reduce, .argmax,
             .reshape, .transpose, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax,
             .logSoftmax, .randomUniform, .stopGradient, .assign, .scan, .scanResult:
            return false
        }
    }

    /// Whether a primitive computes `id` over the iteration space `shape`.
    func blockable(_ id: NodeID, shape: Shape) -> Bool {
        let node = nodes[id.index]
        guard node.type.shape == shape else { return false }
        let inputs = node.inputs.map { nodes[$0.index].type.dtype }
        switch node.op {
        case .unary, .binary:
            return node.type.dtype == .float32
        case .compare:
            return inputs.allSatisfy { $0 == .float32 }
        case .select:
            return inputs == [.bool, .float32, .float32]
        case .cast(let dtype):
            return dtype == inputs[0] || (inputs[0], dtype) == (.bool, .float32) || (inputs[0], dtype) == (.float32, .bool)
        case .broadcast:
            return true
        case .randomUniform:
            return true
        case .elementCount:
            return false  // no primitive: the loop stays scalar
        case .placeholder, .variable, .constant, .reduce, .argmax, .reshape, .transpose, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate,
             .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax, .stopGradient, .assign, .scan, .scanResult:
            return false  // never an elementwise member
        }
    }

    /// Whether a reduction can accumulate whole rows: a `float32` sum or mean that keeps the
    /// blocked axis.
    private func blockableReduction(_ id: NodeID, shape: Shape, flat: Bool) -> Bool {
        guard !flat, case .reduce(_, let axes, _) = nodes[id.index].op, nodes[id.index].type.dtype == .float32 else {
            return false
        }
        return !axes.contains(shape.rank - 1)
    }

    /// The primitive's name without `kiln_vec_` (each defined in Kernels/vector.c and
    /// declared in the prelude).
    ///
    /// - Throws: ``KilnError`` for an op with no primitive (`blockable` lets none through).
    func primitive(_ op: Op, input: DType, member: NodeID) throws -> String {
        switch op {
        case .unary(let unary):
            switch unary {
            case .neg: return "neg"
            case .abs: return "abs"
            case .sign: return "sign"
            case .exp: return "exp"
            case .log: return "log"
            case .sqrt: return "sqrt"
            case .rsqrt: return "rsqrt"
            case .square: return "square"
            case .tanh: return "tanh"
            case .sigmoid: return "sigmoid"
            case .relu: return "relu"
            case .softplus: return "softplus"
            case .floor: return "floor"
            case .erf: return "erf"
            }
        case .binary(let binary):
            switch binary {
            case .add: return "add"
            case .sub: return "sub"
            case .mul: return "mul"
            case .div: return "div"
            case .pow: return "pow"
            case .maximum: return "maximum"
            case .minimum: return "minimum"
            }
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
        case .placeholder, .variable, .constant, .elementCount, .reduce, .argmax, .reshape, .transpose, .broadcast, .slice,
             .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax, .randomUniform,
             .stopGradient, .assign, .scan, .scanResult:
            throw unhandled(member, "has no block primitive")
        }
    }
}
