/// The first `rows` × `cols` positions of images `x` `[n, h, w, c]`, as a pooling that
/// drops the last row and column of an odd map reads them (a 2×2 pooling of Keras' classic
/// convnet takes 10 × 10 of conv2's 11 × 11 maps).
///
/// When `x` is a convolution followed by ops that act on each position alone (its bias, an
/// activation, an inference batch normalization), and nothing else reads those values yet,
/// the convolution is built over only the windows of those positions, and the ops after it
/// on those positions: the cut rows and columns are never computed, and in a training step
/// neither are their gradients (for the convnet's conv2, 21 of 121 window rows: a sixth of its
/// three products). The values are those of the whole map's first positions, computed by the
/// same operations. Otherwise `x` is sliced.
///
/// - Throws: ``KilnError`` if `x` is not rank-4 images with at least `rows` × `cols` positions.
func cropped(_ x: Node, rows: Int, cols: Int) throws -> Node {
    let shape = x.shape
    guard shape.rank == 4, let h = shape[1].staticSize, let w = shape[2].staticSize, rows >= 1, cols >= 1, rows <= h, cols <= w
    else { return try slice(x, starts: [0, 0, 0, 0], sizes: [-1, rows, cols, -1]) }
    if rows == h && cols == w { return x }
    let readers = Crop.readers(in: x.graph)
    guard readers[x.id, default: 0] == 0, let chain = Crop.chain(from: x, readers: readers),
          let window = Crop.window(chain.windows, rows: rows, cols: cols)
    else { return try slice(x, starts: [0, 0, 0, 0], sizes: [-1, rows, cols, -1]) }
    return try Crop.rebuild(chain, window: window, rows: rows, cols: cols)
}

/// The parts of ``cropped(_:rows:cols:)``.
private enum Crop {
    /// A convolution `reshape(matmul(reshape(patches(image)), filter))` and the ops after it,
    /// from the convolution up, each reading the one before it.
    struct Chain {
        /// The window vectors `[n, h, w, k]` of the convolution.
        var windows: Node
        /// The filter as a matrix `[k, out]`.
        var filter: Node
        /// The ops after the convolution, first to last, ending with the cropped value.
        var ops: [Node]
    }

    /// How many nodes read each node of `graph`, so far.
    static func readers(in graph: Graph) -> [NodeID: Int] {
        var counts: [NodeID: Int] = [:]
        for definition in graph.nodes {
            for input in definition.inputs { counts[input, default: 0] += 1 }
        }
        return counts
    }

    /// The chain that ends at `x`, when every op of it after the convolution acts on each
    /// position alone and reads the op before it once, besides operands the same at every
    /// position, and nothing else reads its values; `nil` otherwise.
    static func chain(from x: Node, readers: [NodeID: Int]) -> Chain? {
        var ops: [Node] = []
        var current = x
        while true {
            if ops.count > 0 && readers[current.id, default: 0] != 1 { return nil }
            switch current.op {
            case .unary, .binary, .compare, .select, .cast:
                let along = current.inputs.filter { $0.shape == current.shape }
                guard along.count == 1, current.inputs.allSatisfy({ $0.shape == current.shape || samePerPosition($0, in: current.shape) })
                else { return nil }
                ops.insert(current, at: 0)
                current = along[0]
            case .reshape:
                // [n, h·w, out] viewed as [n, h, w, out]: the convolution's product.
                let product = current.inputs[0]
                guard case .matmul(false, false) = product.op, product.shape.rank == 3, readers[product.id, default: 0] == 1,
                      product.shape[0] == current.shape[0],
                      product.shape[1].staticSize == current.shape[1].staticSize.flatMap({ h in current.shape[2].staticSize.map { h * $0 } }),
                      product.shape[2] == current.shape[3] else { return nil }
                let (rowsView, filter) = (product.inputs[0], product.inputs[1])
                guard case .reshape = rowsView.op, filter.shape.rank == 2, readers[rowsView.id, default: 0] == 1 else { return nil }
                let windows = rowsView.inputs[0]
                guard case .patches = windows.op, readers[windows.id, default: 0] == 1, windows.shape.rank == 4,
                      windows.shape[1] == current.shape[1], windows.shape[2] == current.shape[2] else { return nil }
                ops.insert(current, at: 0)
                return Chain(windows: windows, filter: filter, ops: ops)
            default:
                return nil
            }
        }
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

    /// The window of `windows`' patches giving only its first `rows` × `cols` windows, and the
    /// image rows and columns they read (the image is cut to those when they are fewer than it
    /// has); `nil` when a window would read none of the image.
    static func window(_ windows: Node, rows: Int, cols: Int) -> (window: PatchWindow, padValue: Float, image: [Int])? {
        guard case .patches(var window, let padValue) = windows.op else { return nil }
        let image = windows.inputs[0]
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
        return (window, padValue, kept)
    }

    /// The chain again over the first `rows` × `cols` windows.
    static func rebuild(_ chain: Chain, window: (window: PatchWindow, padValue: Float, image: [Int]), rows: Int,
                        cols: Int) throws -> Node {
        var image = chain.windows.inputs[0]
        if let h = image.shape[1].staticSize, let w = image.shape[2].staticSize, window.image != [h, w] {
            image = try slice(image, starts: [0, 0, 0, 0], sizes: [-1, window.image[0], window.image[1], -1])
        }
        let windows = try patches(image, window: window.window, padValue: window.padValue)
        let k = chain.windows.shape[3]
        let batch = chain.windows.shape[0]
        let product = try matmul(try reshape(windows, to: Shape([batch, .size(rows * cols), k])), chain.filter)
        var current = try reshape(product, to: Shape([batch, .size(rows), .size(cols), product.shape[2]]))
        var replaced = [chain.ops[0].id: current]
        for op in chain.ops.dropFirst() {
            let inputs = op.inputs.map { replaced[$0.id] ?? $0 }
            current = try op.graph.append(op.op, inputs)
            replaced[op.id] = current
        }
        return current
    }
}
