import KilnGraph

// Each property lists every op, so that a new op does not compile until its kernel
// behaviour is decided here.
extension Op {
    /// Whether the op computes each result element from the operand elements at the same
    /// (broadcast) position, so that it can run inside a fused loop.
    var isLoopElementwise: Bool {
        switch self {
        case .unary, .binary, .compare, .select, .cast, .broadcast, .randomUniform:
            true
        case .placeholder, .variable, .constant, .elementCount, .reduce, .argmax, .reshape, .transpose, .slice, .pad, .patches, .foldPatches, .extremumGradient,
             .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax, .stopGradient, .assign, .scan, .scanResult:
            false
        }
    }

    /// Whether the node's value is a compile-time scalar or a count a loop can compute
    /// inline instead of reading it from memory.
    var isInline: Bool {
        switch self {
        case .elementCount:
            true
        case .constant(let value):
            value.scalarCount == 1
        case .placeholder, .variable, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape, .transpose,
             .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax,
             .randomUniform, .stopGradient, .assign, .scan, .scanResult:
            false
        }
    }

    /// Whether the op checks indices (or an axis's length) at run time and can fail.
    var canFault: Bool {
        switch self {
        case .gather, .scatterAdd, .oneHot, .argmax:
            true
        case .scan(let scan):
            scan.body.contains { $0.op.canFault }
        case .placeholder, .variable, .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce,
             .reshape, .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .matmul, .softmax, .logSoftmax,
             .randomUniform, .stopGradient, .assign, .scanResult:
            false
        }
    }

    /// Whether the op's result is an operand's memory, seen with another shape or unchanged
    /// (an assign's result is the value it writes).
    var isAlias: Bool { aliasedOperand != nil }

    /// The operand whose memory an alias op's result is.
    var aliasedOperand: Int? {
        switch self {
        case .reshape, .stopGradient:
            0
        case .assign:
            1
        case .placeholder, .variable, .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce,
             .argmax, .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul,
             .softmax, .logSoftmax, .randomUniform, .scan, .scanResult:
            nil
        }
    }
}
