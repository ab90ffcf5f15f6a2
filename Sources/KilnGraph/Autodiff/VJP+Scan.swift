extension VJP {
    /// The vector–Jacobian product of a scan: a second scan running the other way.
    ///
    /// For a forward body `(c, x, w) -> (c', y)`, each backward step differentiates the
    /// forward step: its carries are the cotangents of the forward carries and the gradients
    /// of the invariants summed over the steps so far; its per-step outputs are the sequences'
    /// gradients. It reads the carries the forward step began with (the forward scan's stacked
    /// carries), that step's sequence slices, the cotangents of its outputs, and the forward
    /// step's values the derivatives need (gate activations, say), which a wider copy of the
    /// forward scan stacks as extra outputs instead of the backward step computing them again.
    /// The compiler runs the two forward scans as one loop (see `MergeScans`).
    ///
    /// - Parameters:
    ///   - y: The scan node.
    ///   - cotangents: The cotangent of each of the scan's results (`nil` for none), in the
    ///     scan's result order (final carries, stacked outputs, stacked carries).
    ///   - needs: Whether each operand needs its gradient.
    /// - Returns: The gradient of each operand, `nil` where not needed or not `f32`.
    static func scan(_ y: Node, cotangents: [Node?], needs: [Bool]) throws -> [Node?] {
        guard case .scan(let forward) = y.op else {
            throw KilnError(.invalidGraph, "\(y.id) is not a scan node\n  \(y)")
        }
        let graph = y.graph, operands = y.inputs
        let k = forward.carryCount, s = forward.sequenceCount, m = forward.outputCount
        let types = forward.resultTypes
        let isFloat = forward.parameterTypes.map { $0.dtype == .float32 }
        let floatCarries = (0..<k).filter { isFloat[$0] }
        let neededSequences = (0..<s).filter { needs[k + $0] && isFloat[k + $0] }
        let neededInvariants = (0..<forward.invariantCount).filter { needs[k + s + $0] && isFloat[k + s + $0] }
        let outputGradients = (0..<m).filter { cotangents[k + $0] != nil && types[k + $0].dtype == .float32 }
        let stepCarryGradients = floatCarries.filter { cotangents[k + m + $0] != nil }

        // The backward body.
        let body = Graph()
        func parameter(_ name: String, _ type: TensorType) throws -> Node {
            try body.placeholder(name, shape: type.shape, dtype: type.dtype)
        }
        let carryGradients = try floatCarries.map { try parameter("carry_grad_\($0)", forward.parameterTypes[$0]) }
        let sums = try neededInvariants.map { try parameter("invariant_grad_\($0)", forward.parameterTypes[k + s + $0]) }
        let stepCarries = try (0..<k).map { try parameter("carry_\($0)", forward.parameterTypes[$0]) }
        let steps = try (0..<s).map { try parameter("step_\($0)", forward.parameterTypes[k + $0]) }
        let outputCotangents = try outputGradients.map { try parameter("output_grad_\($0)", forward.stepType(ofResult: k + $0)) }
        let stepCarryCotangents = try stepCarryGradients.map { try parameter("carry_in_grad_\($0)", forward.parameterTypes[$0]) }
        let invariants = try (0..<forward.invariantCount).map { try parameter("invariant_\($0)", forward.parameterTypes[k + s + $0]) }
        let (results, copies) = try inline(forward, into: body, parameters: stepCarries + steps + invariants)

        // The step's share of the loss, whose gradient is the body's vector–Jacobian product.
        func dot(_ value: Node, _ cotangent: Node) throws -> Node {
            let product = try value * cotangent
            return product.shape.rank == 0 ? product : try sum(product, axes: Array(0..<product.shape.rank))
        }
        var terms: [Node] = []
        for (position, carry) in floatCarries.enumerated() {
            terms.append(try dot(results[carry], carryGradients[position]))
        }
        for (position, output) in outputGradients.enumerated() {
            terms.append(try dot(results[k + output], outputCotangents[position]))
        }
        guard var share = terms.first else { return y.inputs.map { _ in nil } }
        for term in terms.dropFirst() { share = try share + term }
        let wrt = floatCarries.map { stepCarries[$0] } + neededSequences.map { steps[$0] } + neededInvariants.map { invariants[$0] }
        let gradients = try body.gradients(of: share, wrt: wrt, unconnected: .zero)
        var newCarryGradients = Array(gradients.prefix(floatCarries.count))
        for (position, carry) in stepCarryGradients.enumerated() {
            let index = floatCarries.firstIndex(of: carry)!
            newCarryGradients[index] = try newCarryGradients[index] + stepCarryCotangents[position]
        }
        let sequenceGradients = Array(gradients.dropFirst(floatCarries.count).prefix(neededSequences.count))
        let newSums = try zip(sums, gradients.suffix(neededInvariants.count)).map { try $0 + $1 }

        // The forward values the derivatives read, stacked by a wider forward scan.
        let saved = savedValues(of: forward, in: body, copies: copies, results: newCarryGradients + newSums + sequenceGradients)
        let outputs = forward.results.dropFirst(k)
        let extra = saved.filter { !outputs.contains($0) }
        let wider = forward.addingOutputs(extra)
        let stacked = extra.isEmpty ? y : try graph.append(.scan(wider), operands)
        func result(_ index: Int) throws -> Node {
            try graph.append(.scanResult(index: index, type: wider.resultTypes[index]), [stacked])
        }
        let savedSequences = try saved.map { value in
            try result(outputs.firstIndex(of: value) ?? k + m + extra.firstIndex(of: value)!)
        }
        let stackedCarries = try (0..<k).map { try result(k + wider.outputCount + $0) }

        // The backward body reads the saved values as step slices; what only led to them is dropped.
        let sequencePairs = Array(zip(stepCarries, stackedCarries)) + Array(zip(steps, operands[k..<(k + s)]))
            + Array(zip(outputCotangents, outputGradients.map { cotangents[k + $0]! }))
            + Array(zip(stepCarryCotangents, stepCarryGradients.map { cotangents[k + m + $0]! }))
        let invariantPairs = Array(zip(invariants, operands.suffix(forward.invariantCount)))
        let pruned = try prune(body, saving: saved.map { copies[$0]! }, carries: carryGradients + sums,
                               sequences: sequencePairs.map(\.0), invariants: invariantPairs.map(\.0),
                               newCarries: newCarryGradients + newSums, outputs: sequenceGradients)
        let backward = try Scan(body: pruned.graph, carries: pruned.carries,
                                steps: pruned.sequences.map { $0.node } + pruned.saved, invariants: pruned.invariants.map { $0.node },
                                newCarries: pruned.newCarries, outputs: pruned.outputs,
                                length: forward.length, reverse: !forward.reverse)

        // The backward scan.
        func zeros(_ type: TensorType) throws -> Node { try broadcast(graph.constant(0), to: type.shape) }
        let initial = try floatCarries.map { try cotangents[$0] ?? zeros(types[$0]) }
            + neededInvariants.map { try zeros(operands[k + s + $0].type) }
        let sequences = pruned.sequences.map { sequencePairs[$0.position].1 } + savedSequences
        let gradientScan = try graph.scan(backward, carries: initial, sequences: sequences,
                                          invariants: pruned.invariants.map { invariantPairs[$0.position].1 })

        var operandGradients = [Node?](repeating: nil, count: operands.count)
        for (position, carry) in floatCarries.enumerated() where needs[carry] {
            operandGradients[carry] = gradientScan.finalCarries[position]
        }
        for (position, invariant) in neededInvariants.enumerated() {
            operandGradients[k + s + invariant] = gradientScan.finalCarries[floatCarries.count + position]
        }
        for (position, sequence) in neededSequences.enumerated() {
            operandGradients[k + sequence] = gradientScan.outputs[position]
        }
        return operandGradients
    }

    /// The forward body's nodes whose values the backward body reads and that change from step
    /// to step (those computed from the invariants alone are cheaper to compute again), in
    /// the backward body's order.
    ///
    /// - Parameters:
    ///   - copies: Each forward body node's copy in the backward body.
    ///   - results: The backward body's results.
    private static func savedValues(of forward: Scan, in body: Graph, copies: [NodeID: Node], results: [Node]) -> [NodeID] {
        var varies = [Bool](repeating: false, count: forward.body.count)
        for parameter in forward.parameters.prefix(forward.carryCount + forward.sequenceCount) { varies[parameter.index] = true }
        for (index, node) in forward.body.enumerated() where !varies[index] {
            varies[index] = node.inputs.contains { varies[$0.index] }
        }
        let parameters = Set(forward.parameters)
        var origin: [NodeID: NodeID] = [:]
        for (value, copy) in copies where !parameters.contains(value) && varies[value.index] { origin[copy.id] = value }

        let nodes = body.nodes
        let live = nodes.reached(from: results.map(\.id))
        var saved = Set<NodeID>()
        for result in results where origin[result.id] != nil { saved.insert(result.id) }
        for (index, node) in nodes.enumerated() where live[index] && origin[NodeID(index)] == nil {
            for input in node.inputs where origin[input] != nil { saved.insert(input) }
        }
        return saved.sorted { $0.index < $1.index }.map { origin[$0]! }
    }

    /// A body parameter kept by ``prune(_:saving:carries:sequences:invariants:newCarries:outputs:)``:
    /// its placeholder in the new body and its position in the list it came from.
    private struct Kept {
        let node: Node
        let position: Int
    }

    /// `body` rebuilt with the nodes `saving` read as new step parameters (named `saved_i`) and
    /// without the nodes and sequence or invariant parameters the results no longer need.
    private static func prune(_ body: Graph, saving: [Node], carries: [Node], sequences: [Node], invariants: [Node],
                              newCarries: [Node], outputs: [Node])
        throws -> (graph: Graph, carries: [Node], sequences: [Kept], invariants: [Kept], saved: [Node], newCarries: [Node], outputs: [Node]) {
        let nodes = body.nodes
        let savedIndex = Dictionary(uniqueKeysWithValues: saving.enumerated().map { ($1.id, $0) })
        let needed = nodes.reached(from: (carries + newCarries + outputs).map(\.id)) { savedIndex[$0] != nil }
        let graph = Graph()
        var copies: [NodeID: Node] = [:]
        var saved = [Node?](repeating: nil, count: saving.count)
        for (index, node) in nodes.enumerated() where needed[index] {
            let id = NodeID(index)
            if let position = savedIndex[id] {
                saved[position] = try graph.placeholder("saved_\(position)", shape: node.type.shape, dtype: node.type.dtype)
                copies[id] = saved[position]
            } else if case .placeholder(let name, let type) = node.op {
                copies[id] = try graph.placeholder(name, shape: type.shape, dtype: type.dtype)
            } else {
                copies[id] = try graph.append(node.op, node.inputs.map { copies[$0]! })
            }
        }
        func kept(_ parameters: [Node]) -> [Kept] {
            parameters.enumerated().compactMap { position, node in copies[node.id].map { Kept(node: $0, position: position) } }
        }
        return (graph, carries.map { copies[$0.id]! }, kept(sequences), kept(invariants), saved.map { $0! },
                newCarries.map { copies[$0.id]! }, outputs.map { copies[$0.id]! })
    }

    /// Appends a copy of `scan`'s body to `graph` with its parameters replaced by
    /// `parameters`; returns the copies of the body's results and of each body node.
    private static func inline(_ scan: Scan, into graph: Graph, parameters: [Node]) throws -> ([Node], [NodeID: Node]) {
        var copies: [NodeID: Node] = [:]
        for (parameter, node) in zip(scan.parameters, parameters) { copies[parameter] = node }
        for (index, node) in scan.body.enumerated() where copies[NodeID(index)] == nil {
            copies[NodeID(index)] = try graph.append(node.op, node.inputs.map { copies[$0]! })
        }
        return (scan.results.map { copies[$0]! }, copies)
    }
}
