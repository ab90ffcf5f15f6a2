import KilnGraph

/// Whether a scan's body treats the rows of its batch independently, so that the loop can run
/// on parts of the batch at once, one part per core, each for every step (no joining at each
/// step): every value either has the batch as its first axis and is computed row by row (from
/// carries, step slices and invariants with the batch first, such as recurrent dropout's
/// masks), or has no batch axis and comes from the invariants, or is an accumulator: a carry without a
/// batch axis that only ever has sums over the rows added to it, through linear steps (a
/// gradient of a weight in a backward scan), which each part sums over its own rows and the
/// parts' sums are added at the end.
struct ScanRows {
    /// How a body value depends on the batch.
    private enum Kind {
        /// Batch first, row by row.
        case rows
        /// No batch axis, the same for every row.
        case shared
        /// No batch axis, a sum over the rows of a part (an accumulator or what is added to it).
        case partial
        /// Anything else: the loop cannot be split.
        case mixed
    }

    /// Whether the loop can run on parts of the batch.
    let separable: Bool
    /// The carries (by position) that are accumulators.
    let accumulators: Set<Int>

    init(_ scan: Scan) {
        let body = scan.body
        var kinds = [Kind](repeating: .mixed, count: body.count)
        var accumulatorCandidates = Set<Int>()
        for (position, parameter) in scan.parameters.enumerated() {
            let type = body[parameter.index].type
            if Self.batchFirst(type.shape) {
                kinds[parameter.index] = .rows
            } else if type.shape.hasBatch {
                kinds[parameter.index] = .mixed
            } else if position < scan.carryCount && type.dtype == .float32 {
                kinds[parameter.index] = .partial
                accumulatorCandidates.insert(position)
            } else if position < scan.carryCount + scan.sequenceCount {
                kinds[parameter.index] = .mixed  // a step without a batch axis: shared, but keep it simple
            } else {
                kinds[parameter.index] = .shared
            }
        }
        for (index, node) in body.enumerated() where !scan.parameters.contains(NodeID(index)) {
            kinds[index] = Self.kind(of: node, operands: node.inputs.map { kinds[$0.index] }, inputs: node.inputs.map { body[$0.index] })
        }
        var separable = !kinds.isEmpty
        for (position, result) in scan.results.enumerated() {
            let kind = kinds[result.index]
            if position < scan.carryCount {
                separable = separable && (accumulatorCandidates.contains(position) ? kind == .partial : kind == .rows)
            } else {
                separable = separable && kind == .rows
            }
        }
        // A partial sum may only flow into what stays a partial sum (a linear use, see kind(of:)).
        for (index, node) in body.enumerated() {
            for input in node.inputs where kinds[input.index] == .partial && kinds[index] != .partial {
                separable = false
            }
        }
        self.separable = separable
        accumulators = accumulatorCandidates
    }

    /// Whether the batch is the first axis, and the only one.
    static func batchFirst(_ shape: Shape) -> Bool { shape.dims.first == .batch && shape.batchDimCount == 1 }

    /// The kind of a body node from its operands' kinds.
    private static func kind(of node: NodeDef, operands: [Kind], inputs: [NodeDef]) -> Kind {
        if operands.contains(where: { if case .mixed = $0 { true } else { false } }) { return .mixed }
        let rowsOut = batchFirst(node.type.shape), sharedOut = !node.type.shape.hasBatch
        let allShared = operands.allSatisfy { if case .shared = $0 { true } else { false } }
        let anyPartial = operands.contains { if case .partial = $0 { true } else { false } }
        if anyPartial {
            // What is done to sums over the rows must be linear, so that the parts' results add
            // up to the whole batch's: sums and differences of them, and the same reshaping,
            // negation or scaling for every part.
            let allPartial = operands.allSatisfy { if case .partial = $0 { true } else { false } }
            guard sharedOut else { return .mixed }
            switch node.op {
            case .binary(.add), .binary(.sub):
                return allPartial ? .partial : .mixed
            case .binary(.mul):
                return operands.count == 2 && !allPartial ? .partial : .mixed
            case .reshape, .transpose, .stopGradient, .unary(.neg):
                return .partial
            case .placeholder, .variable, .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce, .argmax,
                 .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax,
                 .logSoftmax, .randomUniform, .assign, .scan, .scanResult:
                return .mixed
            }
        }
        if case .elementCount(let counted) = node.op, counted.hasBatch { return .mixed }  // depends on the part's size
        if allShared {
            if sharedOut { return .shared }
            if case .broadcast = node.op, rowsOut { return .rows }
            return .mixed
        }
        switch node.op {
        case .unary, .binary, .compare, .select, .cast, .stopGradient:
            return rowsOut ? .rows : .mixed
        case .matmul(let transposeA, let transposeB):
            guard inputs.count == 2, inputs[0].type.shape.rank == 2, inputs[1].type.shape.rank == 2 else { return .mixed }
            if !transposeA, case .rows = operands[0], case .shared = operands[1] { return rowsOut ? .rows : .mixed }
            if transposeA, !transposeB, case .rows = operands[0], case .rows = operands[1] { return sharedOut ? .partial : .mixed }
            return .mixed
        case .reduce(let op, let axes, _):
            if !axes.contains(0) { return rowsOut ? .rows : .mixed }
            return op == .sum && sharedOut ? .partial : .mixed
        case .reshape:
            guard rowsOut, let source = inputs.first, batchFirst(source.type.shape) else { return .mixed }
            return source.type.shape.staticProduct == node.type.shape.staticProduct ? .rows : .mixed
        case .transpose(let permutation):
            return permutation.first == 0 && rowsOut ? .rows : .mixed
        case .broadcast:
            return rowsOut && (inputs.first.map { batchFirst($0.type.shape) || !$0.type.shape.hasBatch } ?? false) ? .rows : .mixed
        case .slice(let starts, let sizes):
            return rowsOut && starts.first == 0 && sizes.dims.first == .batch ? .rows : .mixed
        case .pad(let low, let high):
            return rowsOut && low.first == 0 && high.first == 0 ? .rows : .mixed
        case .concatenate(let axis):
            return rowsOut && axis != 0 ? .rows : .mixed
        case .softmax(let axis), .logSoftmax(let axis):
            return rowsOut && axis != 0 ? .rows : .mixed
        case .placeholder, .variable, .constant, .elementCount, .argmax, .patches, .foldPatches, .extremumGradient, .gather, .scatterAdd, .oneHot,
             .randomUniform, .assign, .scan, .scanResult:
            return .mixed
        }
    }
}
