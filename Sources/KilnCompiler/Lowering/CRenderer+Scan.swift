import KilnGraph

/// Scans: the body rendered once as static functions (`s<id>_k0_...`, `s<id>_run`), and a
/// kernel that calls the body's entry point once per step: one C loop, whatever the number of
/// steps.
extension CRenderer {
    /// Whether the kernel runs a scan.
    func isScan(_ kernel: KernelSpec) -> Bool {
        if case .scan = nodes[kernel.members[0].index].op { return true }
        return false
    }

    /// The body of scan `id`: its constants as static arrays, its loops' bodies, its kernels
    /// and its entry point.
    func renderBody(of id: NodeID, _ lowered: LoweredScan) throws -> String {
        let bodyPrefix = prefix + "s\(id.index)_"
        var placed: [NodeID: Int] = [:]
        if let kernel = schedule.memory.kernels.first(where: { $0.members[0] == id }) {
            let results = ScanLoop.placedResults(lowered, written: ScanLoop.written(kernel, nodes))
            for (position, result) in results.enumerated() {
                placed[result.root] = lowered.schedule.slots.count + position
            }
            for (position, gradient) in ScanLoop.placedGradients(lowered, after: results).enumerated() {
                placed[gradient.root] = lowered.schedule.slots.count + results.count + position
            }
        }
        let body = CRenderer(lowered.schedule, profile: false, scans: lowered.nested, workspace: lowered.nestedWorkspace,
                             prefix: bodyPrefix, placed: placed)
        var out = "\n/* The body of scan \(prefix.isEmpty ? "" : "\(prefix)")%\(id.index), run once per step by its kernel. */\n"
        for slot in lowered.schedule.slots {
            guard case .constant(let value) = slot.kind else { continue }
            let elements = (0..<value.scalarCount).map { CSyntax.literal(value, at: $0) }
            out += "static const \(CSyntax.type(value.dtype)) \(bodyPrefix)c\(slot.node.index)[\(Swift.max(elements.count, 1))] = "
                + "{\(elements.isEmpty ? "0" : elements.joined(separator: ", "))};\n"
        }
        return out + (try body.renderFunctions().code)
    }

    /// The kernel of a scan: copies the initial carries into the workspace, then per step
    /// points the body's slots at the carries, the step's slices of the sequences, the
    /// invariants and the places of the results the body writes itself (the next carries, the
    /// step's slices of the stacks, the step's rows of a chunk), runs the body, and copies any
    /// other result there. Products of the input (``ScanChunk``) and products summed over the
    /// steps (``ScanAccumulation``) are made a chunk of steps at a time. A loop whose body keeps
    /// the batch's rows apart (``ScanRows``) runs on two halves of the batch at once, one per
    /// core, each with its own half of the workspace; the halves' accumulators are added at the
    /// end.
    func renderScan(_ k: Int, _ kernel: KernelSpec) throws -> KernelCode {
        let id = kernel.members[0]
        guard case .scan(let scan) = nodes[id.index].op, let lowered = scans[id] else {
            throw unhandled(id, "is a scan without a lowered body")
        }
        let loop = try ScanLoop(self, kernel: kernel, scan: scan, lowered: lowered)
        guard loop.splits else {
            var body = "    uint8_t *ws = workspace;\n"
            if !canFault(kernel) { body += "    int64_t fault[8] = {0}; /* the body cannot fail */\n" }
            return KernelCode(body: body + (try loop.code(part: nil)))
        }
        // The halves: rows [p·n/parts, (p+1)·n/parts) with the workspace's part p.
        let (name, prologue, arguments) = partFunction(k, kernel, what: "the loop over the steps for the batch's parts", extra: [
            ("uint8_t *workspace = (uint8_t *)%ARG%;", "(void *)workspace"),
            ("const int64_t parts = *(const int64_t *)%ARG%;", "(void *)&parts"),
        ])
        var ahead = prologue + "    int64_t fault[8] = {0}; /* the body cannot fail */\n"
            + "    for (int64_t p = begin; p < end; p++) {\n"
            + "        int64_t r0 = p * n / parts, rows = (p + 1) * n / parts - r0;\n"
            + "        uint8_t *ws = workspace + p * (\(lowered.workspaceBytes));\n"
        ahead += try loop.code(part: "p").split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : "    " + $0 }.joined(separator: "\n")
        ahead += "    }\n}\n"
        var body = "    /* Two halves of the batch on two cores from \(ScanLoop.splitRows) rows on. */\n"
            + "    const int64_t parts = n >= \(ScanLoop.splitRows) ? 2 : 1;\n" + arguments
            + "    kiln_parallel_for_grain(parts, n, 1, \(name), args);\n"
        body += loop.sumAccumulators()
        return KernelCode(ahead: ahead, body: body)
    }
}

/// The C of one scan's loop over the steps, for the whole batch or for a part of its rows.
struct ScanLoop {
    /// Loops over at least this many rows run on two halves of the batch.
    static let splitRows = 16

    let renderer: CRenderer
    let scan: Scan
    let lowered: LoweredScan
    let operands: [String]
    let written: [Int: [NodeID]]
    /// The results the body writes where the loop keeps them (see ``placedResults(_:written:)``).
    let placed: [(index: Int, root: NodeID)]
    /// The accumulations' gradients the body writes into their chunk's rows (see
    /// ``placedGradients(_:after:)``).
    let placedGradients: [(accumulation: Int, root: NodeID)]
    let accumulators: Set<Int>
    /// Whether the loop runs on two halves of the batch.
    let splits: Bool
    /// Whether the body can fail (an index out of range), which a loop over parts cannot report.
    let canFault: Bool
    let bodyPrefix: String
    let id: NodeID

    init(_ renderer: CRenderer, kernel: KernelSpec, scan: Scan, lowered: LoweredScan) throws {
        self.renderer = renderer
        self.scan = scan
        self.lowered = lowered
        id = kernel.members[0]
        let schedule = renderer.schedule
        operands = renderer.nodes[id.index].inputs.map { schedule.pointer(schedule.function.aliasRoot($0)) }
        let written = Self.written(kernel, renderer.nodes)
        self.written = written
        placed = Self.placedResults(lowered, written: written)
        placedGradients = Self.placedGradients(lowered, after: placed)
        accumulators = lowered.rows.accumulators
        canFault = renderer.canFault(kernel)
        let k = scan.carryCount, m = scan.outputCount
        // An accumulator's value at each step would be a part's, not the whole batch's.
        let accumulatorsStacked = accumulators.contains { written[k + m + $0] != nil }
        splits = lowered.splits && !accumulatorsStacked && !canFault
        bodyPrefix = renderer.prefix + "s\(id.index)_"
    }

    private func type(_ position: Int) -> TensorType { scan.parameterTypes[position] }

    /// The scan's results the kernel writes, by result index (final carries, stacked outputs,
    /// stacked carries).
    static func written(_ kernel: KernelSpec, _ nodes: [NodeDef]) -> [Int: [NodeID]] {
        Dictionary(grouping: kernel.outputs) { member in
            if case .scanResult(let index, _) = nodes[member.index].op { return index }
            return -1
        }
    }

    /// The body's results it writes straight where the loop keeps them, instead of into its
    /// arena for the loop to copy: a new carry into the buffer the next step reads, a per-step
    /// output into its step's slice of the stack the kernel writes. Each is a value of the
    /// body's arena (not one of its inputs), and the first result computed by its node.
    static func placedResults(_ lowered: LoweredScan, written: [Int: [NodeID]]) -> [(index: Int, root: NodeID)] {
        let function = lowered.schedule.function, memory = lowered.schedule.memory
        let k = lowered.scan.carryCount
        var seen = Set<NodeID>(), placed: [(index: Int, root: NodeID)] = []
        for index in lowered.scan.results.indices where index < k || written[index] != nil {
            guard let id = function.outputs[LoweredScan.resultName(index)] else { continue }
            let root = function.aliasRoot(id)
            guard memory.offsets[root] != nil, memory.inPlace[root] == nil, memory.snapshots[root] == nil,
                  seen.insert(root).inserted else { continue }
            placed.append((index, root))
        }
        return placed
    }

    /// The gradients of accumulations (``ScanAccumulation``) the body writes straight into
    /// their step's rows of the chunk, as ``placedResults(_:written:)`` places results: values
    /// of the body's arena that no placed result already holds.
    static func placedGradients(_ lowered: LoweredScan, after results: [(index: Int, root: NodeID)])
        -> [(accumulation: Int, root: NodeID)] {
        let function = lowered.schedule.function, memory = lowered.schedule.memory
        var seen = Set(results.map(\.root)), placed: [(accumulation: Int, root: NodeID)] = []
        for (index, accumulation) in lowered.accumulations.enumerated() {
            guard let id = function.outputs[accumulation.name] else { continue }
            let root = function.aliasRoot(id)
            guard memory.offsets[root] != nil, memory.inPlace[root] == nil, memory.snapshots[root] == nil,
                  seen.insert(root).inserted else { continue }
            placed.append((index, root))
        }
        return placed
    }

    private static func batchFirst(_ type: TensorType) -> Bool { ScanRows.batchFirst(type.shape) }

    /// The elements of one row of a batch-first type.
    private static func rowElements(_ type: TensorType) -> Int { type.shape.dims.dropFirst().compactMap(\.staticSize).reduce(1, *) }

    private func bytes(_ type: TensorType, part: String?) -> String {
        if part != nil, Self.batchFirst(type) { return "rows*\(Self.rowElements(type) * type.dtype.byteSize)" }
        return CSyntax.product(type.shape.dims + [.size(type.dtype.byteSize)])
    }

    /// Where the part's rows start in a value of `type` (whole, or batch first).
    private func rowOffset(_ type: TensorType, part: String?) -> String {
        part != nil && Self.batchFirst(type) ? " + r0*\(Self.rowElements(type))" : ""
    }

    /// Where step `t`'s slice (of `type`, one step) starts in its stack, for the part's rows;
    /// `time` names another step.
    private func stepOffset(_ type: TensorType, part: String?, time: String = "t") -> String {
        if part != nil, Self.batchFirst(type) { return " + (\(time)*n + r0)*\(Self.rowElements(type))" }
        return " + \(time)*(\(CSyntax.product(type.shape.dims)))"
    }

    /// The carries whose every step's value the kernel stacks (the carries each step began
    /// with, which a backward loop reads), each with the stack it lives in: the body reads the
    /// step's carry from its slice of the stack and writes the next one into the next step's
    /// slice, so that no step copies it there. The last step writes into the carry's second
    /// buffer. Accumulators and carries updated in place keep their one buffer.
    private var carriesInStacks: [(carry: Int, stack: NodeID)] {
        let k = scan.carryCount, m = scan.outputCount
        return (0..<k).compactMap { carry in
            guard !accumulators.contains(carry), lowered.carryOffsets[carry].0 != lowered.carryOffsets[carry].1,
                  let stack = written[k + m + carry]?.first else { return nil }
            return (carry, stack)
        }
    }

    /// The loop over the steps, with the workspace at `ws`; `part` names the part's index for
    /// a loop over rows [r0, r0 + rows), or is `nil` for the whole batch.
    func code(part: String?) throws -> String {
        let k = scan.carryCount, s = scan.sequenceCount, m = scan.outputCount
        let schedule = renderer.schedule
        var out = "    uint8_t *body = ws + (\(lowered.bodyArenaOffset));\n"
        for (carry, (first, second)) in lowered.carryOffsets.enumerated() {
            let c = CSyntax.type(type(carry).dtype)
            out += "    \(c) *carry\(carry) = (\(c) *)(ws + (\(first))), *next\(carry) = (\(c) *)(ws + (\(second)));\n"
            if let part, accumulators.contains(carry) {
                out += "    if (\(part) == 0) memcpy(carry\(carry), \(operands[carry]), \(bytes(type(carry), part: part))); "
                    + "else memset(carry\(carry), 0, \(bytes(type(carry), part: part)));\n"
            } else {
                out += "    memcpy(carry\(carry), \(operands[carry])\(rowOffset(type(carry), part: part)), \(bytes(type(carry), part: part)));\n"
            }
        }
        out += chunkDeclarations(part: part) + accumulationDeclarations(part: part)
        var parameterOf: [String: Int] = [:]
        for (position, parameter) in scan.parameters.enumerated() {
            if case .placeholder(let name, _) = scan.body[parameter.index].op { parameterOf[name] = position }
        }
        var slotValues: [String] = [], sequencesRead: [Int] = []
        for slot in lowered.schedule.slots {
            switch slot.kind {
            case .feed(let name):
                if let chunk = lowered.chunks.firstIndex(where: { $0.name == name }) {
                    // The step's rows of its chunk of products.
                    slotValues.append("(void *)(chunk\(chunk) + (t - low\(chunk))*\(Self.rows(part))*\(lowered.chunks[chunk].width))")
                    continue
                }
                guard let position = parameterOf[name] else { throw renderer.unhandled(id, "has a body feed \(name) that is no parameter") }
                if position < k {
                    slotValues.append("carry\(position)")
                } else if position < k + s {
                    slotValues.append("(void *)(\(operands[position])\(stepOffset(type(position), part: part)))")
                    sequencesRead.append(position)
                } else {
                    // An invariant with the batch first (recurrent dropout's masks): the part's rows.
                    let offset = rowOffset(type(position), part: part)
                    slotValues.append(offset.isEmpty ? "(void *)\(operands[position])" : "(void *)(\(operands[position])\(offset))")
                }
            case .constant:
                slotValues.append("(void *)\(bodyPrefix)c\(slot.node.index)")
            case .variable(let name):
                throw renderer.unhandled(id, "has a body variable \(name)")
            }
        }
        // Where a placed result goes: the next carry, or the step's slice of the first stack written.
        func destination(_ index: Int) -> String {
            if index < k { return "next\(index)" }
            return "(void *)(\(schedule.pointer(written[index]![0]))\(stepOffset(scan.stepType(ofResult: index), part: part)))"
        }
        for result in placed { slotValues.append(destination(result.index)) }
        for gradient in placedGradients { slotValues.append("(void *)\(gradientRows(gradient.accumulation, part: part))") }
        func result(_ index: Int) throws -> String { try located(LoweredScan.resultName(index)) }
        // Where the body leaves its output `name`.
        func located(_ name: String) throws -> String {
            guard let output = lowered.schedule.outputs.first(where: { $0.name == name }) else {
                throw renderer.unhandled(id, "has no body result \(name)")
            }
            let root = lowered.schedule.function.aliasRoot(lowered.schedule.function.outputs[output.name]!)
            if let place = placed.first(where: { $0.root == root }) { return destination(place.index) }
            if let place = placedGradients.first(where: { $0.root == root }) { return gradientRows(place.accumulation, part: part) }
            switch output.place {
            case .slot(let slot): return "slots[\(slot)]"
            // The body lays out its arena for the rows it was given.
            case .arena(let offset): return "(body + (\(offset.cExpression(batch: Self.rows(part)))))"
            }
        }
        let isPlaced = Set(placed.map(\.index))

        let inStacks = carriesInStacks, stacked = Set(inStacks.map(\.carry))
        out += "    for (int64_t step = 0; step < \(scan.length); step++) {\n"
        out += "        int64_t t = \(scan.reverse ? "\(scan.length - 1) - step" : "step");\n"
        for (carry, stack) in inStacks {
            let c = CSyntax.type(type(carry).dtype), at = schedule.pointer(stack)
            out += "        if (step > 0) carry\(carry) = \(at)\(stepOffset(type(carry), part: part));\n"
                + "        next\(carry) = step + 1 < \(scan.length) ? \(at)\(stepOffset(type(carry), part: part, time: scan.reverse ? "(t - 1)" : "(t + 1)"))"
                + " : (\(c) *)(ws + (\(lowered.carryOffsets[carry].1)));\n"
        }
        out += chunkProducts(part: part) + accumulationChunks()
        out += "        void *slots[\(Swift.max(slotValues.count, 1))];\n"
        for (index, value) in slotValues.enumerated() { out += "        slots[\(index)] = \(value);\n" }
        for carry in 0..<k {
            for (position, destination) in (written[k + m + carry] ?? []).enumerated() {
                // A carry that lives in its stack is there but at the first step.
                let guarded = position == 0 && stacked.contains(carry) ? "if (step == 0) " : ""
                out += "        \(guarded)memcpy(\(schedule.pointer(destination))\(stepOffset(type(carry), part: part)), carry\(carry), "
                    + "\(bytes(type(carry), part: part)));\n"
            }
        }
        out += prefetches(of: sequencesRead, part: part)
        let call = "\(bodyPrefix)run(body, \(Self.rows(part)), slots, fault)"
        out += part == nil && canFault ? "        int status = \(call);\n        if (status != 0) return status;\n" : "        \(call);\n"
        // The body returns an accumulator the loop adds to (ScanAccumulation) unchanged.
        let accumulated = ScanAccumulation.carries(lowered.accumulations)
        for carry in 0..<k where !isPlaced.contains(carry) && !accumulated.contains(carry) {
            out += "        memcpy(next\(carry), \(try result(carry)), \(bytes(type(carry), part: part)));\n"
        }
        out += try accumulationSums(part: part, located: located)
        for output in 0..<m {
            let stepType = scan.stepType(ofResult: k + output)
            for (position, destination) in (written[k + output] ?? []).enumerated()
            where !(position == 0 && isPlaced.contains(k + output)) {
                out += "        memcpy(\(schedule.pointer(destination))\(stepOffset(stepType, part: part)), \(try result(k + output)), "
                    + "\(bytes(stepType, part: part)));\n"
            }
        }
        // A carry updated in place (one buffer, LoweredScan.inPlaceCarries) stays where it is;
        // one that lives in its stack is found there by the next step.
        for carry in 0..<k where lowered.carryOffsets[carry].0 != lowered.carryOffsets[carry].1 && !stacked.contains(carry) {
            let c = CSyntax.type(type(carry).dtype)
            out += "        { \(c) *swap = carry\(carry); carry\(carry) = next\(carry); next\(carry) = swap; }\n"
        }
        out += "    }\n"
        for carry in stacked.sorted() { out += "    carry\(carry) = next\(carry);\n" }
        for carry in 0..<k {
            if part != nil && accumulators.contains(carry) {
                // The part's sum, where sumAccumulators reads it: its first buffer.
                let (first, _) = lowered.carryOffsets[carry]
                let c = CSyntax.type(type(carry).dtype)
                out += "    { \(c) *first = (\(c) *)(ws + (\(first))); "
                    + "if (carry\(carry) != first) memcpy(first, carry\(carry), \(bytes(type(carry), part: part))); }\n"
                continue
            }
            for final in written[carry] ?? [] {
                out += "    memcpy(\(schedule.pointer(final))\(rowOffset(type(carry), part: part)), carry\(carry), "
                    + "\(bytes(type(carry), part: part)));\n"
            }
        }
        return out
    }

    /// Each chunk's buffers, and how many steps a chunk holds: as many as ``ScanChunk/budget``
    /// bytes of products hold at the loop's rows, at least one and at most every step.
    private func chunkDeclarations(part: String?) -> String {
        var out = ""
        for (index, chunk) in lowered.chunks.enumerated() {
            out += "    float *chunk\(index) = (float *)(ws + (\(chunk.productsOffset)));\n"
            if part != nil { out += "    float *gathered\(index) = (float *)(ws + (\(chunk.rowsOffset)));\n" }
            out += spanDeclaration("span\(index)", width: chunk.width, part: part, also: "low\(index) = 0")
        }
        return out
    }

    /// At the first step of each chunk, the chunk's products, steps `[low, low + count)` in
    /// order (the steps to come, counted down in a reverse loop), as one GEMM over their rows;
    /// a part's rows of those steps, not adjacent in the sequence, are sliced out first.
    private func chunkProducts(part: String?) -> String {
        let rows = Self.rows(part)
        var out = ""
        for (index, chunk) in lowered.chunks.enumerated() {
            let x = operands[chunk.sequence], w = operands[chunk.kernel], f = chunk.depth
            out += "        if (step % span\(index) == 0) {\n"
                + "            int64_t count = \(scan.length) - step < span\(index) ? \(scan.length) - step : span\(index);\n"
                + "            low\(index) = \(scan.reverse ? "t - count + 1" : "t");\n"
            out += gatherRows("steps", of: x, depth: f, low: "low\(index)", count: "count", into: "gathered\(index)", part: part,
                              indent: "            ")
            out += "            kiln_gemm(0, 0, count*\(rows), \(chunk.width), \(f), steps, \(w), chunk\(index));\n"
                + "        }\n"
        }
        return out
    }

    /// Steps ahead whose slices of the sequences a step asks the cache for.
    static let prefetchSteps = 2

    /// The slices of the sequences at `positions` that the body reads ``prefetchSteps`` steps
    /// later, asked of the cache now (`kiln_prefetch`): a backward loop reads each step's saved
    /// values once, and they are out of the caches by then.
    private func prefetches(of positions: [Int], part: String?) -> String {
        let ahead = Self.prefetchSteps
        let later = scan.reverse ? "(t - \(ahead))" : "(t + \(ahead))"
        var out = ""
        for position in positions {
            out += "        if (step + \(ahead) < \(scan.length)) kiln_prefetch(\(operands[position])"
                + "\(stepOffset(type(position), part: part, time: later)), \(bytes(type(position), part: part)));\n"
        }
        return out
    }

    /// Each accumulation's buffers (``ScanAccumulation``): the chunk's rows of its gradient, and
    /// for a part each term's gathered rows of its sequence; and how many steps a chunk holds,
    /// as ``chunkDeclarations(part:)`` counts them.
    private func accumulationDeclarations(part: String?) -> String {
        var out = ""
        for (index, accumulation) in lowered.accumulations.enumerated() {
            out += "    float *grads\(index) = (float *)(ws + (\(accumulation.gradientsOffset)));\n"
            if part != nil {
                for (position, term) in accumulation.terms.enumerated() {
                    out += "    float *xrows\(index)_\(position) = (float *)(ws + (\(term.rowsOffset)));\n"
                }
            }
            out += spanDeclaration("spanA\(index)", width: accumulation.width, part: part, also: "lowA\(index) = 0, countA\(index) = 0")
        }
        return out
    }

    /// At the first step of each accumulation's chunk, its steps: `[low, low + count)`, counted
    /// down in a reverse loop.
    private func accumulationChunks() -> String {
        var out = ""
        for index in lowered.accumulations.indices {
            out += "        if (step % spanA\(index) == 0) {\n"
                + "            countA\(index) = \(scan.length) - step < spanA\(index) ? \(scan.length) - step : spanA\(index);\n"
                + "            lowA\(index) = \(scan.reverse ? "t - countA\(index) + 1" : "t");\n"
                + "        }\n"
        }
        return out
    }

    /// Where step `t`'s rows of accumulation `index`'s gradient go in its chunk.
    private func gradientRows(_ index: Int, part: String?) -> String {
        "(grads\(index) + (t - lowA\(index))*\(Self.rows(part))*\(lowered.accumulations[index].width))"
    }

    /// After the body: each gradient the body does not write into its chunk copied there, and
    /// at the last step of a chunk, each accumulator plus the product of the chunk's rows of its
    /// sequence, transposed, with those of the gradient (one GEMM over every row of the chunk,
    /// into the accumulator's one buffer). A part's rows of consecutive steps are not adjacent in
    /// the sequence, so they are sliced out first. `located` names where the body leaves an
    /// output.
    private func accumulationSums(part: String?, located: (String) throws -> String) throws -> String {
        let rows = Self.rows(part)
        var out = ""
        for (index, accumulation) in lowered.accumulations.enumerated() {
            if !placedGradients.contains(where: { $0.accumulation == index }) {
                out += "        memcpy(\(gradientRows(index, part: part)), \(try located(accumulation.name)), "
                    + "\(rows)*\(accumulation.width * 4));\n"
            }
            out += "        if (step % spanA\(index) == spanA\(index) - 1 || step == \(scan.length - 1)) {\n"
            for (position, term) in accumulation.terms.enumerated() {
                let x = operands[term.sequence], f = term.depth
                out += "            {\n"
                    + gatherRows("xs", of: x, depth: f, low: "lowA\(index)", count: "countA\(index)", into: "xrows\(index)_\(position)",
                                 part: part, indent: "                ")
                out += "                kiln_gemm_add(1, 0, \(f), \(accumulation.width), countA\(index)*\(rows), xs, grads\(index), "
                    + "carry\(term.carry), carry\(term.carry));\n"
                    + "            }\n"
            }
            out += "        }\n"
        }
        return out
    }

    /// `name`, the steps a chunk holds: as many as ``ScanChunk/budget`` bytes of rows `width`
    /// floats wide hold at the loop's rows, at least one and at most every step; declared with
    /// the declarations `also`.
    private func spanDeclaration(_ name: String, width: Int, part: String?, also: String) -> String {
        let rows = Self.rows(part)
        return "    int64_t \(name) = \(rows) > 0 ? \(ScanChunk.budget) / (\(rows)*\(width * 4)) : 1, \(also);\n"
            + "    \(name) = \(name) < 1 ? 1 : \(name) > \(scan.length) ? \(scan.length) : \(name);\n"
    }

    /// `name`, the loop's rows of steps `[low, low + count)` of sequence `x` (`depth` floats a
    /// row), one step after the other: in place for the whole batch, sliced into `buffer` for a
    /// part, whose rows of consecutive steps are not adjacent.
    private func gatherRows(_ name: String, of x: String, depth: Int, low: String, count: String, into buffer: String, part: String?,
                            indent: String) -> String {
        var out = indent + "const float *\(name) = \(x) + (\(low)*n + \(part == nil ? "0" : "r0"))*\(depth);\n"
        if part != nil {
            out += indent + "if (rows != n) {\n"
                + indent + "    const int64_t shape[3] = {\(scan.length), n, \(depth)}, starts[3] = {\(low), r0, 0}, "
                + "sizes[3] = {\(count), rows, \(depth)};\n"
                + indent + "    kiln_slice(4, 3, shape, starts, sizes, \(x), \(buffer));\n"
                + indent + "    \(name) = \(buffer);\n"
                + indent + "}\n"
        }
        return out
    }

    /// The rows a loop runs: the batch's, or its part's.
    private static func rows(_ part: String?) -> String { part == nil ? "n" : "rows" }

    /// After the parts: each accumulator's final value, the first part's sum plus the second's
    /// (a block primitive's additions, not the scalar loop TinyCC would make of them), or the
    /// first part's sum when the batch ran whole.
    func sumAccumulators() -> String {
        var out = ""
        for carry in accumulators.sorted() {
            let (first, _) = lowered.carryOffsets[carry]
            let count = CSyntax.product(type(carry).shape.dims)
            for final in written[carry] ?? [] {
                let p = renderer.schedule.pointer(final)
                out += "    {\n"
                    + "        const float *sum0 = (const float *)(workspace + (\(first)));\n"
                    + "        const float *sum1 = (const float *)(workspace + (\(lowered.workspaceBytes)) + (\(first)));\n"
                    + "        if (parts > 1) {\n"
                    + "            for (int64_t i = 0; i < \(count); i += KILN_BLOCK) "
                    + "kiln_vec_add(\(count) - i < KILN_BLOCK ? \(count) - i : KILN_BLOCK, sum0 + i, 1, sum1 + i, 1, \(p) + i);\n"
                    + "        } else {\n"
                    + "            memcpy(\(p), sum0, \(bytes(type(carry), part: nil)));\n"
                    + "        }\n"
                    + "    }\n"
            }
        }
        return out
    }
}
