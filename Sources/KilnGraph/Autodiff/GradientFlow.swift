/// How a gradient passes from an op's result back into one of its operands.
enum GradientFlow {
    /// The op has a gradient rule for this operand.
    case differentiable
    /// The derivative is zero wherever it exists (`floor`, `sign`, `stop_gradient`): the path is
    /// connected but carries nothing back.
    case zero
    /// No gradient is defined: the operand is not `f32`, or the op turns it into integers or
    /// booleans (`argmax`, comparisons, casts, `one_hot`), or it is state (`assign`).
    case blocked
}

extension Op {
    /// How a gradient flows from this op's result into operand `index`, which has type `operand`.
    func gradientFlow(into index: Int, operand: TensorType) -> GradientFlow {
        guard operand.dtype == .float32 else { return .blocked }
        switch self {
        case .unary(.floor), .unary(.sign), .stopGradient:
            return .zero
        case .unary, .binary, .reduce, .reshape, .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .concatenate, .matmul,
             .softmax, .logSoftmax, .scan, .scanResult:
            return .differentiable
        case .cast(let dtype):
            return dtype == .float32 ? .differentiable : .blocked
        case .select:
            return index == 0 ? .blocked : .differentiable
        case .extremumGradient:
            // Piecewise constant in the values and the extremum; linear in the gradient.
            return index == 2 ? .differentiable : .blocked
        case .gather, .scatterAdd:
            return index == 0 ? .differentiable : .blocked
        case .compare, .argmax, .oneHot, .randomUniform, .assign, .placeholder, .variable, .constant, .elementCount:
            return .blocked
        }
    }
}
