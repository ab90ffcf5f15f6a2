import KilnGraph

/// Constant folding: a node whose operands are all constants, and whose value does not
/// depend on the batch size, becomes a constant computed by the reference kernels.
///
/// Results larger than ``FoldConstants/maxElements`` stay unfolded, so a broadcast of a
/// scalar does not become a large literal; a node whose evaluation fails (an index out of
/// range) stays too, and fails when the program runs, where the error belongs.
public enum FoldConstants {
    /// The largest result folded, in elements.
    public static let maxElements = 4096

    /// The pass.
    public static func run(_ function: Function) -> Function {
        var rewriter = GraphRewriter(function)
        for index in function.nodes.indices {
            let node = rewriter.remapped(NodeID(index))
            rewriter.map(to: rewriter.append(fold(node, in: rewriter) ?? node))
        }
        return rewriter.finish()
    }

    private static func fold(_ node: NodeDef, in rewriter: GraphRewriter) -> NodeDef? {
        switch node.op {
        case .placeholder, .variable, .constant, .assign, .elementCount, .scan, .scanResult:
            return nil
        case .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape, .transpose, .broadcast, .slice,
             .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax, .randomUniform,
             .stopGradient:
            break  // folded when every operand is a constant
        }
        guard !node.usesBatch, let count = node.type.shape.staticProduct, count <= maxElements else { return nil }
        var operands: [Tensor] = []
        for input in node.inputs {
            guard case .constant(let value) = rewriter.node(input).op else { return nil }
            operands.append(value)
        }
        guard let value = try? Reference.evaluate(node, operands: operands, batch: 0) else { return nil }
        return NodeDef(op: .constant(value), inputs: [], type: node.type)
    }
}
