/// What ``Graph/gradients(of:wrt:unconnected:)`` does for a value the loss does not depend on.
public enum UnconnectedGradient: Sendable {
    /// Throw an error naming the value (the default: usually a wiring mistake).
    case error
    /// Return zeros of the value's shape.
    case zero
}

extension Graph {
    /// Appends reverse-mode backward nodes computing the gradient of `loss` with respect to
    /// each node of `wrt`, and returns those gradient nodes (each of its node's type).
    ///
    /// Uses fan-out are accumulated, broadcast dimensions are summed back, and paths through
    /// `floor`, `sign` and `stop_gradient` contribute zero.
    ///
    /// - Parameters:
    ///   - loss: An `f32` scalar (type `f32[]`).
    ///   - wrt: The `f32` nodes to differentiate with respect to: variables, placeholders or
    ///     intermediate values.
    ///   - unconnected: What to return for a node the loss does not depend on at all.
    /// - Throws: ``KilnError`` (`.gradient`) if `loss` is not an `f32` scalar, a node of `wrt` is
    ///   not `f32`, the loss depends on it only through ops without gradients (naming the op),
    ///   or not at all (with `unconnected: .error`).
    public func gradients(of loss: Node, wrt: [Node], unconnected: UnconnectedGradient = .error) throws -> [Node] {
        guard loss.graph === self, wrt.allSatisfy({ $0.graph === self }) else {
            throw KilnError(.invalidArgument, "gradients: the loss and the nodes must belong to this graph")
        }
        guard loss.type == TensorType(.float32, .scalar) else {
            throw KilnError(.gradient, "gradients of \(loss.id): the loss must be an f32 scalar (f32[]) but is "
                            + "\(loss.type); reduce it with sum or mean first\n  \(loss)")
        }
        for node in wrt where node.dtype != .float32 {
            throw KilnError(.gradient, "gradients with respect to \(node.id): only f32 values have gradients, "
                            + "it is \(node.type)\n  \(node)")
        }
        let needed = ancestors(of: loss.id)
        for node in wrt {
            try checkPath(from: node, to: loss, needed: needed, unconnected: unconnected)
        }
        let adjoints = try backpropagate(from: loss, to: Set(wrt.map(\.id)), needed: needed)
        return try wrt.map { node in
            if let adjoint = adjoints[node.id] { return adjoint }
            return try broadcast(constant(0), to: node.shape)
        }
    }

    /// `result[i]` is true when node `i` is `root` or one of its operands, transitively.
    private func ancestors(of root: NodeID) -> [Bool] {
        var needed = [Bool](repeating: false, count: root.index + 1)
        needed[root.index] = true
        for index in stride(from: root.index, through: 0, by: -1) where needed[index] {
            for input in nodes[index].inputs { needed[input.index] = true }
        }
        return needed
    }

    /// Throws when `loss` depends on `source` not at all, or only through blocked edges.
    private func checkPath(from source: Node, to loss: Node, needed: [Bool], unconnected: UnconnectedGradient) throws {
        let start = source.id.index
        var reaches = [Bool](repeating: false, count: needed.count)
        var flows = [Bool](repeating: false, count: needed.count)
        var blocker: NodeID? = nil
        if start < needed.count {
            reaches[start] = true
            flows[start] = true
            for index in (start + 1)..<needed.count {
                let node = nodes[index]
                for (position, input) in node.inputs.enumerated() where reaches[input.index] {
                    reaches[index] = true
                    let flow = node.op.gradientFlow(into: position, operand: nodes[input.index].type)
                    if flows[input.index] && flow != .blocked {
                        flows[index] = true
                    } else if flows[input.index] && needed[index] && blocker == nil {
                        blocker = NodeID(index)
                    }
                }
            }
        }
        if !reaches[loss.id.index] {
            guard unconnected == .zero else {
                throw KilnError(.gradient, "gradients of \(loss.id) with respect to \(source.id): the loss does not "
                                + "depend on it (pass unconnected: .zero for zeros)\n  \(source)\n  \(loss)")
            }
            return
        }
        if !flows[loss.id.index], let blocker {
            throw KilnError(.gradient, "gradients of \(loss.id) with respect to \(source.id): every path passes "
                            + "through an op without a gradient\n  \(handle(blocker))")
        }
    }

    /// Reverse accumulation from `loss`; returns the summed adjoint of every node it reached
    /// among `targets`.
    private func backpropagate(from loss: Node, to targets: Set<NodeID>, needed: [Bool]) throws -> [NodeID: Node] {
        var active = [Bool](repeating: false, count: needed.count)
        for target in targets where target.index < needed.count { active[target.index] = true }
        for index in 0..<needed.count where !active[index] && needed[index] {
            let node = nodes[index]
            active[index] = node.inputs.enumerated().contains { position, input in
                active[input.index]
                    && node.op.gradientFlow(into: position, operand: nodes[input.index].type) == .differentiable
            }
        }
        var pending: [NodeID: [Node]] = [loss.id: [constant(1)]]
        // A scan's cotangents, by result index: each scan_result node adds its own.
        var scanCotangents: [NodeID: [Int: Node]] = [:]
        var adjoints: [NodeID: Node] = [:]
        for index in stride(from: loss.id.index, through: 0, by: -1) where active[index] {
            let id = NodeID(index)
            let forward = handle(id)
            let needs = forward.definition.inputs.enumerated().map { position, input in
                active[input.index]
                    && forward.op.gradientFlow(into: position, operand: nodes[input.index].type) == .differentiable
            }
            let operandGradients: [Node?]
            if case .scan(let scan) = forward.op {
                guard let results = scanCotangents.removeValue(forKey: id), needs.contains(true) else { continue }
                let cotangents = scan.resultTypes.indices.map { results[$0] }
                operandGradients = try VJP.scan(forward, cotangents: cotangents, needs: needs)
            } else {
                guard let parts = pending.removeValue(forKey: id) else { continue }
                var cotangent = parts[0]
                for part in parts.dropFirst() { cotangent = try add(cotangent, part) }
                if targets.contains(id) { adjoints[id] = cotangent }
                if case .scanResult(let result, _) = forward.op {
                    let scan = forward.definition.inputs[0]
                    let sum = try scanCotangents[scan]?[result].map { try add($0, cotangent) } ?? cotangent
                    scanCotangents[scan, default: [:]][result] = sum
                    continue
                }
                guard needs.contains(true) else { continue }
                operandGradients = try VJP.rule(forward, cotangent: cotangent, needs: needs)
            }
            for (position, input) in forward.definition.inputs.enumerated() where needs[position] {
                guard let gradient = operandGradients[position] else { continue }
                pending[input, default: []].append(gradient)
            }
        }
        return adjoints
    }
}
