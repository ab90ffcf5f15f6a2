/// Slices of `params` along `axis` picked by the `i32` `indices`:
/// `[a..., p, b...]` gathered by `[i...]` gives `[a..., i..., b...]`. An index outside
/// `0..<p` is an error when the program runs.
public func gather(_ params: Node, indices: Node, axis: Int = 0) throws -> Node {
    try params.graph.append(.gather(axis: normalizedAxis(axis, rank: params.shape.rank)), [params, indices])
}

/// Zeros of `shape` with each slice of `updates` added at its `i32` index along `axis`:
/// the adjoint of ``gather(_:indices:axis:)``.
public func scatterAdd(_ updates: Node, indices: Node, axis: Int, shape: Shape) throws -> Node {
    try updates.graph.append(.scatterAdd(axis: normalizedAxis(axis, rank: shape.rank), shape: shape),
                             [updates, indices])
}

/// `i32` class indices as `f32` one-hot rows: `[i...] -> [i..., depth]`. An index outside
/// `0..<depth` is an error when the program runs.
public func oneHot(_ indices: Node, depth: Int) throws -> Node {
    try indices.graph.append(.oneHot(depth: depth), [indices])
}
