extension VJP {
    /// The vector–Jacobian product of a scan: a second scan running the other way.
    ///
    /// For a forward body `(c, x, w) -> (c', y)`, each backward step reads the carries the
    /// forward step began with (the forward scan's stacked carries), that step's sequence
    /// slices and the cotangents of its outputs, computes the forward body again, and
    /// differentiates it: its carries are the cotangents of the forward carries and the
    /// gradients of the invariants summed over the steps so far; its per-step outputs are the
    /// sequences' gradients.
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
        let outputCotangents = try outputGradients.map { try parameter("output_grad_\($0)", unstacked(types[k + $0])) }
        let stepCarryCotangents = try stepCarryGradients.map { try parameter("carry_in_grad_\($0)", forward.parameterTypes[$0]) }
        let invariants = try (0..<forward.invariantCount).map { try parameter("invariant_\($0)", forward.parameterTypes[k + s + $0]) }
        let results = try inline(forward, into: body, parameters: stepCarries + steps + invariants)

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
        let backward = try Scan(body: body, carries: carryGradients + sums,
                                steps: stepCarries + steps + outputCotangents + stepCarryCotangents, invariants: invariants,
                                newCarries: newCarryGradients + newSums, outputs: sequenceGradients,
                                length: forward.length, reverse: !forward.reverse)

        // The backward scan over the forward scan's saved carries.
        func zeros(_ type: TensorType) throws -> Node { try broadcast(graph.constant(0), to: type.shape) }
        func result(_ index: Int) throws -> Node { try graph.append(.scanResult(index: index, type: types[index]), [y]) }
        let initial = try floatCarries.map { try cotangents[$0] ?? zeros(types[$0]) }
            + neededInvariants.map { try zeros(operands[k + s + $0].type) }
        let sequences = try (0..<k).map { try result(k + m + $0) } + operands[k..<(k + s)]
            + outputGradients.map { cotangents[k + $0]! } + stepCarryGradients.map { cotangents[k + m + $0]! }
        let outputs = try graph.scan(backward, carries: initial, sequences: sequences, invariants: Array(operands.suffix(forward.invariantCount)))

        var operandGradients = [Node?](repeating: nil, count: operands.count)
        for (position, carry) in floatCarries.enumerated() where needs[carry] {
            operandGradients[carry] = outputs.finalCarries[position]
        }
        for (position, invariant) in neededInvariants.enumerated() {
            operandGradients[k + s + invariant] = outputs.finalCarries[floatCarries.count + position]
        }
        for (position, sequence) in neededSequences.enumerated() {
            operandGradients[k + sequence] = outputs.outputs[position]
        }
        return operandGradients
    }

    /// `type` without its leading (step) axis.
    private static func unstacked(_ type: TensorType) -> TensorType {
        TensorType(type.dtype, Shape(Array(type.shape.dims.dropFirst())))
    }

    /// Appends a copy of `scan`'s body to `graph` with its parameters replaced by
    /// `parameters`; returns the copies of the body's results.
    private static func inline(_ scan: Scan, into graph: Graph, parameters: [Node]) throws -> [Node] {
        var copies: [NodeID: Node] = [:]
        for (parameter, node) in zip(scan.parameters, parameters) { copies[parameter] = node }
        for (index, node) in scan.body.enumerated() where copies[NodeID(index)] == nil {
            copies[NodeID(index)] = try graph.append(node.op, node.inputs.map { copies[$0]! })
        }
        return scan.results.map { copies[$0]! }
    }
}
