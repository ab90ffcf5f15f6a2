/// Vector–Jacobian products: for a forward node `y = op(x...)` and the cotangent `dy` of
/// its result, the cotangent of each operand (`nil` where `needs` is false or the gradient
/// is zero). Each rule builds ordinary graph nodes, so gradients can be differentiated again.
enum VJP {
    static func rule(_ y: Node, cotangent dy: Node, needs: [Bool]) throws -> [Node?] {
        let x = y.inputs
        switch y.op {
        case .placeholder, .variable, .constant, .elementCount:
            return []
        case .unary(let op):
            return [try unary(op, x[0], y, dy)]
        case .binary(let op):
            return try binary(op, x[0], x[1], y, dy, needs: needs)
        case .compare, .argmax, .oneHot, .assign, .stopGradient, .randomUniform:
            return x.map { _ in nil }
        case .select:
            let zero = y.graph.constant(0)
            return [
                nil,
                needs[1] ? try unbroadcast(select(x[0], dy, zero), to: x[1].shape) : nil,
                needs[2] ? try unbroadcast(select(x[0], zero, dy), to: x[2].shape) : nil,
            ]
        case .cast:
            return [dy]
        case .reduce(let op, let axes, let keepDims):
            return [try reduce(op, x[0], y, dy, axes: axes, keepDims: keepDims)]
        case .reshape:
            return [try reshape(dy, to: x[0].shape)]
        case .transpose(let permutation):
            return [try transposeBack(dy, permutation: permutation)]
        case .broadcast:
            return [try unbroadcast(dy, to: x[0].shape)]
        case .slice(let starts, let sizes):
            return [try sliceBack(dy, into: x[0].shape, starts: starts, sizes: sizes)]
        case .pad(let low, _):
            return [try y.graph.append(.slice(starts: low, sizes: x[0].shape), [dy])]
        case .patches(let window, _):
            // Each cell of the image is in the windows that hold it; the padding is constant.
            guard case .size(let h) = x[0].shape[1], case .size(let w) = x[0].shape[2] else {
                throw KilnError(.invalidGraph, "patches \(y.id): the images \(x[0].type) have no static height and width")
            }
            return [try y.graph.append(.foldPatches(window, imageSize: [h, w]), [dy])]
        case .foldPatches(let window, _):
            return [try y.graph.append(.patches(window, padValue: 0), [dy])]
        case .extremumGradient(let axes):
            return [nil, nil, needs[2] ? try extremumGradientBack(x, dy, axes: axes) : nil] + (x.count > 3 ? [nil] : [])
        case .concatenate(let axis):
            return try concatenateBack(dy, into: x.map(\.shape), axis: axis)
        case .gather(let axis):
            return [try scatterAdd(dy, indices: x[1], axis: axis, shape: x[0].shape), nil]
        case .scatterAdd(let axis, _):
            return [try gather(dy, indices: x[1], axis: axis), nil]
        case .matmul(let transposeA, let transposeB):
            return try matmul(x[0], x[1], dy, transposeA: transposeA, transposeB: transposeB, needs: needs)
        case .softmax(let axis):
            // dx = y * (dy - sum(dy * y))
            return [try y * (dy - sum(dy * y, axes: [axis], keepDims: true))]
        case .logSoftmax(let axis):
            // dx = dy - softmax(x) * sum(dy)
            return [try dy - exp(y) * sum(dy, axes: [axis], keepDims: true)]
        case .scan, .scanResult:
            throw KilnError(.gradient, "\(y.id): reverse accumulation takes a scan's cotangents result by result (VJP.scan)\n  \(y)")
        }
    }

    /// `g` summed over the axes NumPy broadcasting added or stretched, to give `shape`.
    static func unbroadcast(_ g: Node, to shape: Shape) throws -> Node {
        if g.shape == shape { return g }
        let extra = g.shape.rank - shape.rank
        var axes = Array(0..<extra)
        for axis in 0..<shape.rank where shape[axis] == 1 && g.shape[axis + extra] != 1 {
            axes.append(axis + extra)
        }
        let summed = axes.isEmpty ? g : try sum(g, axes: axes, keepDims: true)
        return summed.shape == shape ? summed : try reshape(summed, to: shape)
    }

    private static func matmul(_ a: Node, _ b: Node, _ dy: Node, transposeA: Bool, transposeB: Bool,
                               needs: [Bool]) throws -> [Node?] {
        var da: Node? = nil, db: Node? = nil
        switch (transposeA, transposeB) {
        case (false, false):    // y = a b
            if needs[0] { da = try KilnGraph.matmul(dy, b, transposeB: true) }
            if needs[1] { db = try KilnGraph.matmul(a, dy, transposeA: true) }
        case (true, false):     // y = aᵀ b
            if needs[0] { da = try KilnGraph.matmul(b, dy, transposeB: true) }
            if needs[1] { db = try KilnGraph.matmul(a, dy) }
        case (false, true):     // y = a bᵀ
            if needs[0] { da = try KilnGraph.matmul(dy, b) }
            if needs[1] { db = try KilnGraph.matmul(dy, a, transposeA: true) }
        case (true, true):      // y = aᵀ bᵀ
            if needs[0] { da = try KilnGraph.matmul(b, dy, transposeA: true, transposeB: true) }
            if needs[1] { db = try KilnGraph.matmul(dy, a, transposeA: true, transposeB: true) }
        }
        return [try da.map { try unbroadcast($0, to: a.shape) }, try db.map { try unbroadcast($0, to: b.shape) }]
    }
}
