extension Graph {
    /// Checks that the graph is well formed: operands defined before use (no cycles),
    /// recorded types equal to the inferred ones, unique placeholder and variable names,
    /// initial values that match their variables, assigns that target variables once, and a
    /// placeholder declaring the batch dimension wherever a node uses it.
    ///
    /// - Throws: ``KilnError`` (`.invalidGraph` and others) quoting the offending node's printer line.
    public func verify() throws {
        try verifyOrder()
        var placeholders: [String: NodeID] = [:]
        var variables: [String: NodeID] = [:]
        var assigned: [NodeID: NodeID] = [:]
        var batchSource: NodeID? = nil
        var batchUser: NodeID? = nil
        for (index, node) in nodes.enumerated() {
            let id = NodeID(index)
            let line = Printer.line(node, id: id)
            let operandTypes = node.inputs.map { nodes[$0.index].type }
            let inferred: TensorType
            do {
                inferred = try node.op.resultType(of: operandTypes)
            } catch let error as KilnError {
                throw KilnError(error.kind, "\(line): \(error.message)")
            }
            guard inferred == node.type else {
                throw KilnError(.invalidGraph, "\(line): the recorded type is \(node.type) but the operands give \(inferred)")
            }
            switch node.op {
            case .placeholder(let name, let type):
                if let other = placeholders.updateValue(id, forKey: name) {
                    throw KilnError(.invalidGraph, "\(line): placeholder name \(String(reflecting: name)) is also used by \(other)")
                }
                if type.shape.hasBatch && batchSource == nil { batchSource = id }
            case .variable(let name, let type):
                if let other = variables.updateValue(id, forKey: name) {
                    throw KilnError(.invalidGraph, "\(line): variable name \(String(reflecting: name)) is also used by \(other)")
                }
                guard let value = initialValues[name] else {
                    throw KilnError(.invalidGraph, "\(line): the variable has no initial value")
                }
                guard value.type == type else {
                    throw KilnError(.invalidGraph, "\(line): the initial value is \(value.type), not \(type)")
                }
            case .assign:
                let target = node.inputs[0]
                guard case .variable = nodes[target.index].op else {
                    throw KilnError(.invalidGraph, "\(line): \(target) is not a variable")
                }
                if let other = assigned.updateValue(id, forKey: target) {
                    throw KilnError(.invalidGraph, "\(line): \(target) is also assigned by \(other)")
                }
            case .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape,
                 .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax,
                 .logSoftmax, .randomUniform, .stopGradient:
                break  // checked by type inference above
            case .scan(let scan):
                do {
                    try scan.check()
                } catch let error as KilnError {
                    throw KilnError(error.kind, "\(line): \(error.message)")
                }
            case .scanResult(let index, let type):
                try Graph.checkScanResult(index: index, type: type, of: nodes[node.inputs[0].index], opText: line)
            }
            if node.usesBatch && batchUser == nil { batchUser = id }
        }
        if let stray = initialValues.keys.sorted().first(where: { variables[$0] == nil }) {
            throw KilnError(.invalidGraph, "initial value \(String(reflecting: stray)) has no variable node")
        }
        if let user = batchUser, batchSource == nil {
            throw KilnError(.invalidGraph, "\(handle(user)): uses the batch dimension, but no placeholder declares it")
        }
    }

    /// Every operand must exist and come before its user; a violation is reported as a cycle
    /// when there is one, else as a node out of topological order.
    private func verifyOrder() throws {
        for (index, node) in nodes.enumerated() {
            for input in node.inputs where input.index >= index || input.index < 0 {
                let line = Printer.line(node, id: NodeID(index))
                guard nodes.indices.contains(input.index) else {
                    throw KilnError(.invalidGraph, "\(line): operand \(input) does not exist")
                }
                if let cycle = cycle(through: NodeID(index)) {
                    let path = cycle.map(\.description).joined(separator: " -> ")
                    let lines = cycle.dropLast().map { "\n  " + Printer.line(nodes[$0.index], id: $0) }.joined()
                    throw KilnError(.invalidGraph, "cycle: \(path)\(lines)")
                }
                throw KilnError(.invalidGraph,
                                "\(line): operand \(input) is defined after its user; nodes must be in topological order")
            }
        }
    }

    /// A path `start -> ... -> start` following operands, if one exists (iterative depth-first
    /// search, so long chains cannot exhaust the stack).
    private func cycle(through start: NodeID) -> [NodeID]? {
        var visited: Set<NodeID> = [start]
        var path: [(node: NodeID, next: Int)] = [(start, 0)]
        while let top = path.last {
            let inputs = nodes[top.node.index].inputs
            guard top.next < inputs.count else {
                path.removeLast()
                continue
            }
            path[path.count - 1].next += 1
            let input = inputs[top.next]
            if input == start { return path.map(\.node) + [start] }
            if nodes.indices.contains(input.index) && visited.insert(input).inserted {
                path.append((input, 0))
            }
        }
        return nil
    }
}
