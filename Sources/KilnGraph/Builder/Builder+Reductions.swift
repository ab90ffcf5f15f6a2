/// The sum over `axes` (all axes when `nil`); negative axes count from the end.
public func sum(_ x: Node, axes: [Int]? = nil, keepDims: Bool = false) throws -> Node {
    try reduce(.sum, x, axes: axes, keepDims: keepDims)
}

/// The mean over `axes` (all axes when `nil`); NaN over an empty set.
public func mean(_ x: Node, axes: [Int]? = nil, keepDims: Bool = false) throws -> Node {
    try reduce(.mean, x, axes: axes, keepDims: keepDims)
}

/// The maximum over `axes` (all axes when `nil`); NaN propagates, `-inf` over an empty set.
public func max(_ x: Node, axes: [Int]? = nil, keepDims: Bool = false) throws -> Node {
    try reduce(.max, x, axes: axes, keepDims: keepDims)
}

/// The minimum over `axes` (all axes when `nil`); NaN propagates, `+inf` over an empty set.
public func min(_ x: Node, axes: [Int]? = nil, keepDims: Bool = false) throws -> Node {
    try reduce(.min, x, axes: axes, keepDims: keepDims)
}

/// The `i32` index of the largest element along `axis` (the first on ties, the first NaN if any).
public func argmax(_ x: Node, axis: Int = -1, keepDims: Bool = false) throws -> Node {
    try x.graph.append(.argmax(axis: normalizedAxis(axis, rank: x.shape.rank), keepDims: keepDims), [x])
}

/// The gradient of `max(x, axes)` or `min(x, axes)` for the extremum's gradient `gradient`:
/// each element of `x` equal to its group's `extremum` gets `gradient / ties` (the group's
/// count of such elements), where `keep` (if given) is true; every other element gets 0.
///
/// Shapes: `x` `f32[S]`; `extremum` and `gradient` `f32[S]` with the `axes` of length 1;
/// `keep` `bool[S]`; result `f32[S]`. Negative axes count from the end.
public func extremumGradient(_ x: Node, extremum: Node, gradient: Node, keep: Node? = nil, axes: [Int]) throws -> Node {
    let rank = x.shape.rank
    let sorted = axes.map { normalizedAxis($0, rank: rank) }.sorted()
    return try x.graph.append(.extremumGradient(axes: sorted), [x, extremum, gradient] + (keep.map { [$0] } ?? []))
}

private func reduce(_ op: ReduceOp, _ x: Node, axes: [Int]?, keepDims: Bool) throws -> Node {
    let rank = x.shape.rank
    let normalized = (axes ?? Array(0..<rank)).map { normalizedAxis($0, rank: rank) }
    let sorted = normalized.sorted()
    return try x.graph.append(.reduce(op, axes: sorted, keepDims: keepDims), [x])
}

/// `axis + rank` for a negative axis in range; anything else unchanged, for the type check to report.
func normalizedAxis(_ axis: Int, rank: Int) -> Int {
    axis < 0 && axis + rank >= 0 ? axis + rank : axis
}
