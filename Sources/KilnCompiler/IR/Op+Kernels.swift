import KilnGraph

extension Op {
    /// Whether the op computes each result element from the operand elements at the same
    /// (broadcast) position, so that it can run inside a fused loop.
    var isLoopElementwise: Bool {
        switch self {
        case .unary, .binary, .compare, .select, .cast, .broadcast, .randomUniform: true
        default: false
        }
    }

    /// Whether the node's value is a compile-time scalar or a count a loop can compute
    /// inline instead of reading it from memory.
    var isInline: Bool {
        switch self {
        case .elementCount: true
        case .constant(let value): value.scalarCount == 1
        default: false
        }
    }

    /// Whether the op checks indices (or an axis's length) at run time and can fail.
    var canFault: Bool {
        switch self {
        case .gather, .scatterAdd, .oneHot, .argmax: true
        default: false
        }
    }

    /// Whether the op's result is an operand's memory, seen with another shape or unchanged
    /// (an assign's result is the value it writes).
    var isAlias: Bool { aliasedOperand != nil }

    /// The operand whose memory an alias op's result is.
    var aliasedOperand: Int? {
        switch self {
        case .reshape, .stopGradient: 0
        case .assign: 1
        default: nil
        }
    }
}
