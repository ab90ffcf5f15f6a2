extension Reference {
    /// The results of `scan` (see ``Scan`` for their order) for the operands' values `x`: the
    /// body run once per step, in step order (or reversed), on the carries, one slice of
    /// each sequence and the invariants.
    ///
    /// - Throws: ``KilnError`` from the body's nodes (an index out of range, ...).
    package static func scan(_ scan: Scan, operands x: [Tensor], batch: Int) throws -> [Tensor] {
        var carries = Array(x.prefix(scan.carryCount))
        let sequences = Array(x[scan.carryCount..<(scan.carryCount + scan.sequenceCount)])
        let invariants = Array(x.suffix(scan.invariantCount))
        var outputs = [[Tensor]](repeating: [], count: scan.length)
        var stepCarries = [[Tensor]](repeating: [], count: scan.length)
        for t in scan.reverse ? Array((0..<scan.length).reversed()) : Array(0..<scan.length) {
            let steps = try sequences.map { try step(t, of: $0) }
            var values: [NodeID: Tensor] = [:]
            for (parameter, value) in zip(scan.parameters, carries + steps + invariants) { values[parameter] = value }
            let results = try run(scan.body, parameters: values, results: scan.results, batch: batch)
            stepCarries[t] = carries
            carries = Array(results.prefix(scan.carryCount))
            outputs[t] = Array(results.dropFirst(scan.carryCount))
        }
        let stackedOutputs = try (0..<scan.outputCount).map { k in try stack(outputs.map { $0[k] }) }
        let stackedCarries = try (0..<scan.carryCount).map { k in try stack(stepCarries.map { $0[k] }) }
        return carries + stackedOutputs + stackedCarries
    }

    /// The values of `results` among `nodes` (a scan's body), given the values of its
    /// placeholders: each node evaluated once, in order.
    ///
    /// - Throws: ``KilnError`` naming the body node that failed.
    package static func run(_ nodes: [NodeDef], parameters: [NodeID: Tensor], results: [NodeID], batch: Int) throws -> [Tensor] {
        var values = [Tensor?](repeating: nil, count: nodes.count)
        var scanResults: [Int: [Tensor]] = [:]
        for (index, node) in nodes.enumerated() {
            let id = NodeID(index)
            do {
                switch node.op {
                case .placeholder(let name, _):
                    guard let value = parameters[id] else {
                        throw KilnError(.missingFeed, "body placeholder \(String(reflecting: name)) has no value")
                    }
                    values[index] = value
                case .scan(let loop):
                    scanResults[index] = try scan(loop, operands: node.inputs.map { values[$0.index]! }, batch: batch)
                    values[index] = Tensor(0)
                case .scanResult(let position, _):
                    values[index] = scanResults[node.inputs[0].index]![position]
                case .variable, .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce, .argmax,
                     .reshape, .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather,
                     .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax, .randomUniform, .stopGradient, .assign:
                    values[index] = try evaluate(node, operands: node.inputs.map { values[$0.index]! }, batch: batch)
                }
            } catch let error as KilnError {
                throw KilnError(error.kind, "in the scan body, \(Printer.line(node, id: id)): \(error.message)")
            }
        }
        return results.map { values[$0.index]! }
    }

    /// Slice `t` of `x`'s leading axis, without that axis.
    private static func step(_ t: Int, of x: Tensor) throws -> Tensor {
        let inner = Array(x.shape.dropFirst())
        return try slice(x, starts: [t] + inner.map { _ in 0 }, shape: [1] + inner).reshaped(to: inner)
    }

    /// `parts` (of one shape) stacked along a new leading axis.
    private static func stack(_ parts: [Tensor]) throws -> Tensor {
        let shape = parts[0].shape
        let rows = try parts.map { try $0.reshaped(to: [1] + shape) }
        return concatenate(rows, axis: 0, shape: [parts.count] + shape)
    }
}
