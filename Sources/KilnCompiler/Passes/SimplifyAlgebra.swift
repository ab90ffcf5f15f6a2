import KilnGraph

/// Algebraic simplification: identities that leave a value unchanged are removed.
///
/// - `x + 0`, `0 + x`, `x - 0`, `x * 1`, `1 * x`, `x / 1`, `x ** 1`, `-(-x)`
/// - a transpose of a transpose becomes one transpose (or none, if the two cancel)
/// - a reshape of a reshape becomes one reshape; a reshape, broadcast or cast to the
///   operand's own type disappears
/// - `stop_gradient` disappears (it matters only to differentiation, which is done)
///
/// An identity applies only when the result has exactly the type of the value kept, so
/// broadcasting by a constant is never lost.
public enum SimplifyAlgebra {
    /// The pass.
    public static func run(_ function: Function) -> Function {
        var rewriter = GraphRewriter(function)
        for index in function.nodes.indices {
            let node = rewriter.remapped(NodeID(index))
            if let kept = identity(node, in: rewriter) {
                rewriter.map(to: kept)
            } else {
                rewriter.map(to: rewriter.append(combined(node, in: rewriter) ?? node))
            }
        }
        return rewriter.finish()
    }

    /// The operand the node equals, if it is an identity.
    private static func identity(_ node: NodeDef, in rewriter: GraphRewriter) -> NodeID? {
        let inputs = node.inputs
        func same(_ id: NodeID) -> NodeID? { rewriter.node(id).type == node.type ? id : nil }
        func isConstant(_ id: NodeID, _ value: Float) -> Bool {
            guard case .constant(let tensor) = rewriter.node(id).op, tensor.dtype != .bool else { return false }
            return tensor.scalars.allSatisfy { $0 == value }
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
        case .placeholder, .variable, .constant, .elementCount, .compare, .select, .reduce, .argmax, .slice, .pad, .patches, .foldPatches,
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
             .argmax, .broadcast, .slice, .pad, .patches, .foldPatches, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax,
             .logSoftmax, .randomUniform, .stopGradient, .assign, .scan, .scanResult:
            return nil
        }
    }
}
