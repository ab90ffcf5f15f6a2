/// The same elements in row-major order with another shape.
///
/// One dimension may be `-1` (`.size(-1)`), inferred from the others. The target keeps as
/// many batch dimensions as `x` has: `[?, 4, 4] -> [?, 16]`.
public func reshape(_ x: Node, to shape: Shape) throws -> Node {
    var target = shape
    let inferred = target.dims.indices.filter { target[$0] == .size(-1) }
    if inferred.count > 1 {
        throw KilnError(.invalidArgument, "reshape \(x.id) to \(shape): at most one dimension can be -1")
    }
    if let axis = inferred.first {
        target[axis] = 1
        let known = target.staticProduct ?? 0
        let total = x.shape.staticProduct ?? 0
        guard known > 0, total % known == 0 else {
            throw KilnError(.shapeMismatch, "reshape \(x.id) to \(shape): cannot infer -1 from \(x.type)")
        }
        target[axis] = .size(total / known)
    }
    return try x.graph.append(.reshape(target), [x])
}

/// The axes of `x` reordered: result axis `i` is axis `permutation[i]` of `x`
/// (reversed when `nil`).
public func transpose(_ x: Node, permutation: [Int]? = nil) throws -> Node {
    let rank = x.shape.rank
    let order = (permutation ?? Array((0..<rank).reversed())).map { normalizedAxis($0, rank: rank) }
    return try x.graph.append(.transpose(permutation: order), [x])
}

/// `x` stretched to `shape` by NumPy broadcasting.
public func broadcast(_ x: Node, to shape: Shape) throws -> Node {
    try x.graph.append(.broadcast(shape), [x])
}

/// The box of `x` that starts at `starts` and has `sizes`; a size of -1 takes the rest of
/// the axis. The batch dimension can only be taken whole (start 0, size -1).
public func slice(_ x: Node, starts: [Int], sizes: [Int]) throws -> Node {
    guard starts.count == x.shape.rank, sizes.count == x.shape.rank else {
        throw KilnError(.invalidArgument,
                        "slice \(x.id): \(x.type) needs \(x.shape.rank) starts and sizes, got \(starts.count) and \(sizes.count)")
    }
    let dims: [Dim] = sizes.indices.map { axis in
        guard sizes[axis] == -1 else { return .size(sizes[axis]) }
        switch x.shape[axis] {
        case .batch: return .batch
        case .size(let n): return .size(n - starts[axis])
        }
    }
    return try x.graph.append(.slice(starts: starts, sizes: Shape(dims)), [x])
}

/// `x` with `low[i]` zeros before and `high[i]` zeros after it along each axis `i`.
public func pad(_ x: Node, low: [Int], high: [Int]) throws -> Node {
    try x.graph.append(.pad(low: low, high: high), [x])
}

/// `xs` joined along `axis`, which must be static in every operand.
public func concatenate(_ xs: [Node], axis: Int) throws -> Node {
    guard let first = xs.first else {
        throw KilnError(.invalidArgument, "concatenate needs at least one operand")
    }
    return try first.graph.append(.concatenate(axis: normalizedAxis(axis, rank: first.shape.rank)), xs)
}

extension Graph {
    /// The number of elements of `shape` as an `f32` scalar, counting the batch size at run time.
    public func elementCount(_ shape: Shape) throws -> Node { try append(.elementCount(shape), []) }
}
