/// The matrix product over the last two axes, broadcasting leading axes:
/// `[..., m, k] x [..., k, n] -> [..., m, n]`, with either operand optionally transposed.
public func matmul(_ a: Node, _ b: Node, transposeA: Bool = false, transposeB: Bool = false) throws -> Node {
    try a.graph.append(.matmul(transposeA: transposeA, transposeB: transposeB), [a, b])
}

/// `exp(x) / sum(exp(x))` along `axis`, shifted by the maximum so it never overflows.
public func softmax(_ x: Node, axis: Int = -1) throws -> Node {
    try x.graph.append(.softmax(axis: normalizedAxis(axis, rank: x.shape.rank)), [x])
}

/// `x - log(sum(exp(x)))` along `axis`, shifted by the maximum so it stays finite for large logits.
public func logSoftmax(_ x: Node, axis: Int = -1) throws -> Node {
    try x.graph.append(.logSoftmax(axis: normalizedAxis(axis, rank: x.shape.rank)), [x])
}
