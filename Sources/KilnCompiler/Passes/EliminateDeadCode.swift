import KilnGraph

/// Dead-code elimination: nodes that no result and no assign depends on are removed.
/// Placeholders and variables stay, so the graph keeps its inputs and state.
public enum EliminateDeadCode {
    /// The pass.
    public static func run(_ function: Function) -> Function {
        let live = function.liveness
        var rewriter = GraphRewriter(function)
        for (index, node) in function.nodes.enumerated() {
            let keep: Bool
            switch node.op {
            case .placeholder, .variable:
                keep = true  // the program's inputs and state, used or not
            case .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape,
                 .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax,
                 .logSoftmax, .randomUniform, .stopGradient, .assign, .scan, .scanResult:
                keep = live[index]
            }
            // A dead node maps to itself; nothing live reads it.
            rewriter.map(to: keep ? rewriter.append(rewriter.remapped(NodeID(index))) : NodeID(0))
        }
        return rewriter.finish()
    }
}
