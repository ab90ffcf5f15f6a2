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
        let body = CRenderer(lowered.schedule, profile: false, scans: lowered.nested, workspace: lowered.nestedWorkspace,
                             prefix: bodyPrefix)
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
    /// points the body's slots at the carries, the step's slices of the sequences and the
    /// invariants, runs the body, and copies its results to the next carries and to the
    /// step's slice of each stacked result.
    func renderScan(_ kernel: KernelSpec) throws -> String {
        let id = kernel.members[0]
        let node = nodes[id.index]
        guard case .scan(let scan) = node.op, let lowered = scans[id] else {
            throw unhandled(id, "is a scan without a lowered body")
        }
        let k = scan.carryCount, s = scan.sequenceCount, m = scan.outputCount
        let bodyPrefix = prefix + "s\(id.index)_"
        let body = lowered.schedule
        let operands = node.inputs.map { schedule.pointer(schedule.function.aliasRoot($0)) }
        let types = scan.parameterTypes
        func bytes(_ type: TensorType) -> String { CSyntax.product(type.shape.dims + [.size(type.dtype.byteSize)]) }
        func elements(_ type: TensorType) -> String { CSyntax.product(type.shape.dims) }

        var out = "    uint8_t *body = workspace + (\(lowered.bodyArenaOffset));\n"
        if !canFault(kernel) { out += "    int64_t fault[8] = {0}; /* the body cannot fail */\n" }
        for (carry, (first, second)) in lowered.carryOffsets.enumerated() {
            let type = CSyntax.type(types[carry].dtype)
            out += "    \(type) *carry\(carry) = (\(type) *)(workspace + (\(first))), "
                + "*next\(carry) = (\(type) *)(workspace + (\(second)));\n"
            out += "    memcpy(carry\(carry), \(operands[carry]), \(bytes(types[carry])));\n"
        }

        // The body's slots, by parameter name; and where each of its results is.
        var parameterOf: [String: Int] = [:]
        for (position, parameter) in scan.parameters.enumerated() {
            if case .placeholder(let name, _) = scan.body[parameter.index].op { parameterOf[name] = position }
        }
        var slotValues: [String] = []
        for slot in body.slots {
            switch slot.kind {
            case .feed(let name):
                guard let position = parameterOf[name] else { throw unhandled(id, "has a body feed \(name) that is no parameter") }
                if position < k {
                    slotValues.append("carry\(position)")
                } else if position < k + s {
                    slotValues.append("(void *)(\(operands[position]) + t*(\(elements(types[position]))))")
                } else {
                    slotValues.append("(void *)\(operands[position])")
                }
            case .constant:
                slotValues.append("(void *)\(bodyPrefix)c\(slot.node.index)")
            case .variable(let name):
                throw unhandled(id, "has a body variable \(name)")
            }
        }
        func result(_ index: Int) throws -> String {
            guard let output = body.outputs.first(where: { $0.name == LoweredScan.resultName(index) }) else {
                throw unhandled(id, "has no body result \(index)")
            }
            switch output.place {
            case .slot(let slot): return "slots[\(slot)]"
            case .arena(let offset): return "(body + (\(offset)))"
            }
        }
        let written: [Int: [NodeID]] = Dictionary(grouping: kernel.outputs) { member in
            if case .scanResult(let index, _) = nodes[member.index].op { return index }
            return -1
        }

        out += "    for (int64_t step = 0; step < \(scan.length); step++) {\n"
        out += "        int64_t t = \(scan.reverse ? "\(scan.length - 1) - step" : "step");\n"
        out += "        void *slots[\(Swift.max(slotValues.count, 1))];\n"
        for (index, value) in slotValues.enumerated() { out += "        slots[\(index)] = \(value);\n" }
        for carry in 0..<k {
            for destination in written[k + m + carry] ?? [] {
                out += "        memcpy(\(schedule.pointer(destination)) + t*(\(elements(types[carry]))), carry\(carry), \(bytes(types[carry])));\n"
            }
        }
        let call = "\(bodyPrefix)run(body, n, slots, fault)"
        out += canFault(kernel) ? "        int status = \(call);\n        if (status != 0) return status;\n"
            : "        \(call);\n"
        for carry in 0..<k { out += "        memcpy(next\(carry), \(try result(carry)), \(bytes(types[carry])));\n" }
        for output in 0..<m {
            let stacked = scan.resultTypes[k + output]
            let stepType = TensorType(stacked.dtype, Shape(Array(stacked.shape.dims.dropFirst())))
            for destination in written[k + output] ?? [] {
                out += "        memcpy(\(schedule.pointer(destination)) + t*(\(elements(stepType))), \(try result(k + output)), \(bytes(stepType)));\n"
            }
        }
        for carry in 0..<k {
            let type = CSyntax.type(types[carry].dtype)
            out += "        { \(type) *swap = carry\(carry); carry\(carry) = next\(carry); next\(carry) = swap; }\n"
        }
        out += "    }\n"
        for carry in 0..<k {
            for final in written[carry] ?? [] {
                out += "    memcpy(\(schedule.pointer(final)), carry\(carry), \(bytes(types[carry])));\n"
            }
        }
        return out
    }
}
