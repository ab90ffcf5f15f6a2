/// The first `rows` × `cols` positions of images `x` `[n, h, w, c]`, as a pooling that
/// drops the last row and column of an odd map reads them (a 2×2 pooling of Keras' classic
/// convnet takes 10 × 10 of conv2's 11 × 11 maps).
///
/// When `x` is a convolution followed by ops that act on each position alone (its bias, an
/// activation, an inference batch normalization), and nothing else reads those values yet,
/// the convolution is built over only the windows of those positions, and the ops after it
/// on those positions: the cut rows and columns are never computed, and in a training step
/// neither are their gradients (for the convnet's conv2, 21 of 121 window rows: a sixth of its
/// three products). The image such a convolution reads is cut the same way in turn when it is
/// a pooling of whole tiles of another (conv2's valid 3×3 windows read 12 × 12 of the first
/// pooling's 13 × 13, so that pooling and conv1 compute 24 × 24 of conv1's 26 × 26 positions).
/// The values are those of the whole map's first positions, computed by the same operations.
/// Otherwise `x` is sliced.
///
/// - Throws: ``KilnError`` if `x` is not rank-4 images with at least `rows` × `cols` positions.
func cropped(_ x: Node, rows: Int, cols: Int) throws -> Node {
    if let computed = try Crop.computed(x, rows: rows, cols: cols, readers: Crop.readers(in: x.graph), allowed: 0) {
        return computed
    }
    return try slice(x, starts: [0, 0, 0, 0], sizes: [-1, rows, cols, -1])
}

/// The parts of ``cropped(_:rows:cols:)``.
private enum Crop {
    /// How many nodes read each node of `graph`, so far.
    static func readers(in graph: Graph) -> [NodeID: Int] {
        var counts: [NodeID: Int] = [:]
        for definition in graph.nodes {
            for input in definition.inputs { counts[input, default: 0] += 1 }
        }
        return counts
    }

    /// `x`'s first `rows` × `cols` positions computed as such (see ``cropped(_:rows:cols:)``)
    /// when `x` is read by `allowed` nodes (those being replaced) and is a convolution or a
    /// tiled pooling followed by ops on each position alone, each read once; `nil` otherwise,
    /// or when slicing costs less.
    static func computed(_ x: Node, rows: Int, cols: Int, readers: [NodeID: Int], allowed: Int) throws -> Node? {
        let shape = x.shape
        guard shape.rank == 4, let h = shape[1].staticSize, let w = shape[2].staticSize, rows >= 1, cols >= 1, rows <= h,
              cols <= w, readers[x.id, default: 0] == allowed else { return nil }
        if rows == h && cols == w { return x }
        // The ops on each position alone, last first, down to the value they start from.
        var ops: [Node] = []
        var base = x
        while base.op.isPositionwise {
            let along = base.inputs.filter { $0.shape == base.shape }
            guard along.count == 1, base.inputs.allSatisfy({ $0.shape == base.shape || samePerPosition($0, in: base.shape) }),
                  readers[along[0].id, default: 0] == 1 else { return nil }
            ops.append(base)
            base = along[0]
        }
        guard var current = try convolution(base, rows: rows, cols: cols, readers: readers)
                ?? pooling(base, rows: rows, cols: cols, readers: readers) else { return nil }
        var replaced = [base.id: current]
        for op in ops.reversed() {
            current = try op.graph.append(op.op, op.inputs.map { replaced[$0.id] ?? $0 })
            replaced[op.id] = current
        }
        return current
    }

    /// Whether `operand` is broadcast to `shape` (`[n, h, w, c]`) with the same values at every
    /// position (a bias `[c]`, a scalar, a per-channel `[1, 1, 1, c]`).
    static func samePerPosition(_ operand: Node, in shape: Shape) -> Bool {
        let rank = operand.shape.rank
        guard rank <= shape.rank else { return false }
        return [1, 2].allSatisfy { axis in
            let at = axis - (shape.rank - rank)
            return at < 0 || operand.shape[at] == .size(1)
        }
    }

    /// A convolution `reshape(matmul(reshape(patches(image)), filter))` over only the windows
    /// of its first `rows` × `cols` positions, its image cut to the rows and columns those
    /// read; `nil` for another value.
    static func convolution(_ maps: Node, rows: Int, cols: Int, readers: [NodeID: Int]) throws -> Node? {
        guard case .reshape = maps.op, maps.shape.rank == 4 else { return nil }
        let product = maps.inputs[0]
        guard case .matmul(false, false) = product.op, product.shape.rank == 3, readers[product.id, default: 0] == 1,
              product.shape[0] == maps.shape[0], product.shape[2] == maps.shape[3] else { return nil }
        let (rowsView, filter) = (product.inputs[0], product.inputs[1])
        guard case .reshape = rowsView.op, filter.shape.rank == 2, readers[rowsView.id, default: 0] == 1 else { return nil }
        let windows = rowsView.inputs[0]
        guard case .patches(var window, let padValue) = windows.op, readers[windows.id, default: 0] == 1,
              windows.shape.rank == 4, windows.shape[1] == maps.shape[1], windows.shape[2] == maps.shape[2] else { return nil }
        var image = windows.inputs[0]
        guard image.shape.rank == 4, let h = image.shape[1].staticSize, let w = image.shape[2].staticSize else { return nil }
        var kept = [h, w]
        for (axis, count) in [rows, cols].enumerated() {
            // The padded rows the first `count` windows read, then those inside the image.
            let reach = (count - 1) * window.stride[axis] + window.span(axis)
            let inside = reach - window.padLow[axis]
            guard inside >= 1 else { return nil }
            kept[axis] = Swift.min(inside, kept[axis])
            window.padHigh[axis] = Swift.max(reach - window.padLow[axis] - kept[axis], 0)
        }
        if kept != [h, w] {
            image = try computed(image, rows: kept[0], cols: kept[1], readers: readers, allowed: 1)
                ?? slice(image, starts: [0, 0, 0, 0], sizes: [-1, kept[0], kept[1], -1])
        }
        let batch = windows.shape[0]
        let cut = try patches(image, window: window, padValue: padValue)
        let products = try matmul(try reshape(cut, to: Shape([batch, .size(rows * cols), windows.shape[3]])), filter)
        return try reshape(products, to: Shape([batch, .size(rows), .size(cols), products.shape[2]]))
    }

    /// A pooling of whole tiles, a reduction over axes 2 and 4 of maps viewed as `[n, oh, kh,
    /// ow, kw, c]`, over only its first `rows` × `cols` tiles, when the maps it reads can be
    /// computed cut to those (else cutting its output costs less); `nil` for another value.
    static func pooling(_ pooled: Node, rows: Int, cols: Int, readers: [NodeID: Int]) throws -> Node? {
        guard case .reduce(let op, let axes, false) = pooled.op, axes == [2, 4] else { return nil }
        let tiles = pooled.inputs[0]
        guard case .reshape = tiles.op, tiles.shape.rank == 6, readers[tiles.id, default: 0] == 1,
              let kh = tiles.shape[2].staticSize, let kw = tiles.shape[4].staticSize else { return nil }
        let maps = tiles.inputs[0]
        guard maps.shape.rank == 4, maps.shape[1].staticSize == tiles.shape[1].staticSize.map({ $0 * kh }),
              maps.shape[2].staticSize == tiles.shape[3].staticSize.map({ $0 * kw }),
              let cut = try computed(maps, rows: rows * kh, cols: cols * kw, readers: readers, allowed: 1) else { return nil }
        let view = try reshape(cut, to: Shape([tiles.shape[0], .size(rows), .size(kh), .size(cols), .size(kw), tiles.shape[5]]))
        return try pooled.graph.append(.reduce(op, axes: axes, keepDims: false), [view])
    }
}
