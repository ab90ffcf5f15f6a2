import KilnGraph

/// Algebraic simplification: identities that leave a value unchanged are removed.
///
/// - `x + 0`, `0 + x`, `x - 0`, `x * 1`, `1 * x`, `x / 1`, `x ** 1`, `-(-x)`, also with the
///   constant reshaped or broadcast
/// - a transpose of a transpose becomes one transpose (or none, if the two cancel)
/// - a reshape of a reshape becomes one reshape; a reshape, broadcast or cast to the
///   operand's own type disappears
/// - `stop_gradient` disappears (it matters only to differentiation, which is done)
/// - the sum of two zero-padded values whose parts lie side by side along one axis becomes
///   one padded concatenation, and a concatenation once the padding is gone (a gradient
///   flowing back through slices of one value, as an LSTM's gates: one copy instead of a
///   padded copy and an addition per slice)
///
/// An identity applies only when the result has exactly the type of the value kept, so
/// broadcasting by a constant is never lost.
public enum SimplifyAlgebra {
    /// The pass.
    public static func run(_ function: Function) -> Function {
        var rewriter = GraphRewriter(function)
        for index in function.nodes.indices {
            let node = rewriter.remapped(NodeID(index))
            if let joined = joinedPads(node, in: &rewriter) {
                rewriter.map(to: joined)
            } else if let kept = identity(node, in: rewriter) {
                rewriter.map(to: kept)
            } else {
                rewriter.map(to: rewriter.append(combined(node, in: rewriter) ?? node))
            }
        }
        return rewriter.finish()
    }

    /// `pad(p) + pad(q)` with `p` and `q` side by side along one axis and nothing else
    /// padded: `pad(concatenate(p, q))`, or the concatenation alone when it fills the axis.
    private static func joinedPads(_ node: NodeDef, in rewriter: inout GraphRewriter) -> NodeID? {
        guard case .binary(.add) = node.op, node.type.dtype == .float32 else { return nil }
        let first = rewriter.node(node.inputs[0]), second = rewriter.node(node.inputs[1])
        guard first.type == node.type, second.type == node.type,
              case .pad(let lowA, let highA) = first.op, case .pad(let lowB, let highB) = second.op else { return nil }
        let rank = node.type.shape.rank
        let padded = (0..<rank).filter { lowA[$0] != 0 || highA[$0] != 0 || lowB[$0] != 0 || highB[$0] != 0 }
        guard padded.count == 1, let axis = padded.first, case .size(let length) = node.type.shape[axis] else { return nil }
        // Order the two parts along the axis; they must touch.
        let (left, right, leftLow, rightHigh): (NodeDef, NodeDef, Int, Int)
        if lowA[axis] + (length - lowA[axis] - highA[axis]) == lowB[axis] {
            (left, right, leftLow, rightHigh) = (first, second, lowA[axis], highB[axis])
        } else if lowB[axis] + (length - lowB[axis] - highB[axis]) == lowA[axis] {
            (left, right, leftLow, rightHigh) = (second, first, lowB[axis], highA[axis])
        } else {
            return nil
        }
        // Parts already joined along the same axis are spliced in, so a chain of sums gives one concatenation.
        func parts(_ value: NodeID) -> [NodeID] {
            if case .concatenate(let joinedAxis) = rewriter.node(value).op, joinedAxis == axis { return rewriter.node(value).inputs }
            return [value]
        }
        let inputs = parts(left.inputs[0]) + parts(right.inputs[0])
        var shape = node.type.shape
        shape[axis] = .size(length - leftLow - rightHigh)
        let joined = rewriter.append(NodeDef(op: .concatenate(axis: axis), inputs: inputs, type: TensorType(.float32, shape)))
        guard leftLow > 0 || rightHigh > 0 else { return joined }
        var low = [Int](repeating: 0, count: rank), high = low
        low[axis] = leftLow
        high[axis] = rightHigh
        return rewriter.append(NodeDef(op: .pad(low: low, high: high), inputs: [joined], type: node.type))
    }

    /// The operand the node equals, if it is an identity.
    private static func identity(_ node: NodeDef, in rewriter: GraphRewriter) -> NodeID? {
        let inputs = node.inputs
        func same(_ id: NodeID) -> NodeID? { rewriter.node(id).type == node.type ? id : nil }
        // A constant, or a reshape or broadcast of one (a gradient's seed spread over a batch).
        func isConstant(_ id: NodeID, _ value: Float) -> Bool {
            let node = rewriter.node(id)
            if case .constant(let tensor) = node.op { return tensor.dtype != .bool && tensor.scalars.allSatisfy { $0 == value } }
            if case .reshape = node.op { return isConstant(node.inputs[0], value) }
            if case .broadcast = node.op { return isConstant(node.inputs[0], value) }
            return false
        }
        switch node.op {
        case .binary(.add):
            if isConstant(inputs[1], 0) { return same(inputs[0]) }
            if isConstant(inputs[0], 0) { return same(inputs[1]) }
        case .binary(.sub) where isConstant(inputs[1], 0):
            return same(inputs[0])
        case .binary(.mul):
            if isConstant(inputs[1], 1) { return same(inputs[0]) }
            if isConstant(inputs[0], 1) { return same(inputs[1]) }
        case .binary(.div) where isConstant(inputs[1], 1), .binary(.pow) where isConstant(inputs[1], 1):
            return same(inputs[0])
        case .unary(.neg):
            let operand = rewriter.node(inputs[0])
            if case .unary(.neg) = operand.op { return same(operand.inputs[0]) }
        case .transpose(let permutation) where permutation == Array(permutation.indices):
            return same(inputs[0])
        case .transpose(let outer):
            let operand = rewriter.node(inputs[0])
            if case .transpose(let inner) = operand.op, outer.map({ inner[$0] }) == Array(outer.indices) {
                return same(operand.inputs[0])
            }
        case .reshape, .broadcast, .cast, .stopGradient:
            return same(inputs[0])
        case .binary, .unary:
            break  // the other arithmetic: no identity
        case .placeholder, .variable, .constant, .elementCount, .compare, .select, .reduce, .argmax, .slice, .pad, .patches, .foldPatches, .extremumGradient,
             .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax, .randomUniform, .assign, .scan, .scanResult:
            break
        }
        return nil
    }

    /// The node with a chain of two layout ops merged into one, if it ends such a chain.
    private static func combined(_ node: NodeDef, in rewriter: GraphRewriter) -> NodeDef? {
        guard let input = node.inputs.first else { return nil }
        let operand = rewriter.node(input)
        switch node.op {
        case .transpose(let outer):
            guard case .transpose(let inner) = operand.op else { return nil }
            return NodeDef(op: .transpose(permutation: outer.map { inner[$0] }), inputs: operand.inputs, type: node.type)
        case .reshape:
            guard case .reshape = operand.op else { return nil }
            return NodeDef(op: node.op, inputs: operand.inputs, type: node.type)
        case .placeholder, .variable, .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce,
             .argmax, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax,
             .logSoftmax, .randomUniform, .stopGradient, .assign, .scan, .scanResult:
            return nil
        }
    }
}
