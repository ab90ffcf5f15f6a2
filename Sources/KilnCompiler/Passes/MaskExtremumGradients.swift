import KilnGraph

/// An activation's gradient mask taken into the pooling gradient before it:
/// `select(mask, extremum_gradient(x, y, dy), 0)` becomes `extremum_gradient(x, y, dy, mask)`.
///
/// A max pooling after a ReLU has the gradient `select(x > 0, g, 0)` of the ReLU applied to
/// the pooling's gradient `g`, which is zero but where an element is its window's maximum.
/// Apart, `g` is written to memory whole and read back by the select (for 128 maps of
/// 24×24×32, 9 MB each way); with the mask as the op's fourth operand, each window's shares
/// are written once, masked. The values are the same: each element is the share where both
/// the op and the mask pass it, and 0 elsewhere.
///
/// Only when the op's value has no other reader (through any reshapes between them, which
/// are views: the mask is viewed in the op's shape instead) and the select's other branch is
/// the constant 0.
public enum MaskExtremumGradients {
    /// The pass.
    public static func run(_ function: Function) -> Function {
        let nodes = function.nodes
        guard nodes.contains(where: { if case .extremumGradient = $0.op { true } else { false } }) else { return function }
        let consumers = function.consumers, results = function.results
        var rewriter = GraphRewriter(function)
        for index in nodes.indices {
            let id = NodeID(index)
            let node = rewriter.remapped(id)
            if let gradient = maskedGradient(nodes[index], consumers: consumers, results: results, in: function) {
                rewriter.map(to: rewrite(node, gradient: gradient, in: &rewriter))
            } else {
                rewriter.map(to: rewriter.append(node))
            }
        }
        return rewriter.finish()
    }

    /// For a select that masks an unmasked extremum gradient read by nothing else, the
    /// gradient's node (in the source function).
    private static func maskedGradient(_ node: NodeDef, consumers: [[NodeID]], results: Set<NodeID>,
                                       in function: Function) -> NodeID? {
        guard case .select = node.op, node.type.dtype == .float32 else { return nil }
        let nodes = function.nodes
        let mask = node.inputs[0], value = node.inputs[1], other = node.inputs[2]
        guard nodes[mask.index].type.shape == node.type.shape, nodes[value.index].type.shape == node.type.shape,
              nodes.isPositiveZero(other) else { return nil }
        var current = value
        while true {
            guard consumers[current.index].count == 1, !results.contains(current) else { return nil }
            if case .reshape = nodes[current.index].op {
                current = nodes[current.index].inputs[0]
                continue
            }
            guard case .extremumGradient = nodes[current.index].op, nodes[current.index].inputs.count == 3 else { return nil }
            return current
        }
    }

    /// The masked gradient standing for the select `node` (inputs remapped), in the select's shape.
    private static func rewrite(_ node: NodeDef, gradient: NodeID, in rewriter: inout GraphRewriter) -> NodeID {
        let unmasked = rewriter.node(rewriter.mapped(gradient))
        var mask = node.inputs[0]
        if rewriter.node(mask).type.shape != unmasked.type.shape {
            mask = rewriter.append(NodeDef(op: .reshape(unmasked.type.shape), inputs: [mask],
                                           type: TensorType(.bool, unmasked.type.shape)))
        }
        let masked = rewriter.append(NodeDef(op: unmasked.op, inputs: unmasked.inputs + [mask], type: unmasked.type))
        guard unmasked.type.shape != node.type.shape else { return masked }
        return rewriter.append(NodeDef(op: .reshape(node.type.shape), inputs: [masked], type: node.type))
    }
}
