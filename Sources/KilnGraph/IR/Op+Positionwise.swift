extension Op {
    /// Whether the op computes each element of its result from its operands' elements at the
    /// same position alone (after broadcasting): unary, binary, comparison, select and cast.
    /// Such an op may run in another shape of the same elements (a reshape's) and over part of
    /// its positions (a crop's).
    public var isPositionwise: Bool {
        switch self {
        case .unary, .binary, .compare, .select, .cast:
            true
        case .placeholder, .variable, .constant, .elementCount, .reduce, .argmax, .extremumGradient, .reshape, .transpose,
             .broadcast, .slice, .pad, .patches, .foldPatches, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax,
             .logSoftmax, .randomUniform, .stopGradient, .assign, .scan, .scanResult:
            false
        }
    }
}
