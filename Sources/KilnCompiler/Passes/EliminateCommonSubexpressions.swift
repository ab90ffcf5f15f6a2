import KilnGraph

/// Common-subexpression elimination: two nodes with the same op, attributes and operands
/// compute the same value, so the later one is replaced by the earlier. Equal constants
/// merge too. Placeholders, variables and assigns are never merged.
public enum EliminateCommonSubexpressions {
    /// The pass.
    public static func run(_ function: Function) -> Function {
        var rewriter = GraphRewriter(function)
        var seen: [NodeDef: NodeID] = [:]
        for index in function.nodes.indices {
            let node = rewriter.remapped(NodeID(index))
            switch node.op {
            case .placeholder, .variable, .assign:
                rewriter.map(to: rewriter.append(node))
            case .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape,
                 .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax,
                 .logSoftmax, .stopGradient,
                 .randomUniform, .scan, .scanResult:  // a pure function of its seed and shape: two equal draws are the same numbers
                if let earlier = seen[node] {
                    rewriter.map(to: earlier)
                } else {
                    let id = rewriter.append(node)
                    seen[node] = id
                    rewriter.map(to: id)
                }
            }
        }
        return rewriter.finish()
    }
}
