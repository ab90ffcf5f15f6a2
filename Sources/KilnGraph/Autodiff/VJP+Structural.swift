extension VJP {
    static func reduce(_ op: ReduceOp, _ x: Node, _ y: Node, _ dy: Node, axes: [Int], keepDims: Bool) throws -> Node {
        let keptShape = Infer.reducedShape(x.shape, axes: axes, keepDims: true)
        let dyKept = keepDims ? dy : try reshape(dy, to: keptShape)
        switch op {
        case .sum:
            return try broadcast(dyKept, to: x.shape)
        case .mean:
            let count = try x.graph.elementCount(Shape(axes.map { x.shape[$0] }))
            return try broadcast(dyKept / count, to: x.shape)
        case .max, .min:
            // Shared equally among the elements equal to the result: one op, the select of
            // each tie's share (`extremum_gradient`), which the JIT runs in one pass over x.
            let yKept = keepDims ? y : try reshape(y, to: keptShape)
            return try x.graph.append(.extremumGradient(axes: axes), [x, yKept, dyKept])
        }
    }

    /// The cotangent of an extremum's gradient `dy` (operand 2 of `extremum_gradient`): each
    /// group's cotangents where the op passed `dy` through, summed and shared as it shared `dy`.
    static func extremumGradientBack(_ x: [Node], _ cotangent: Node, axes: [Int]) throws -> Node {
        let zero = cotangent.graph.constant(0)
        let chosen = try equal(x[0], x[1])
        let ties = try sum(cast(chosen, to: .float32), axes: axes, keepDims: true)
        var passed = try select(chosen, cotangent, zero)
        if x.count > 3 { passed = try select(x[3], passed, zero) }
        return try sum(passed, axes: axes, keepDims: true) / ties
    }

    static func transposeBack(_ dy: Node, permutation: [Int]) throws -> Node {
        var inverse = permutation
        for (position, axis) in permutation.enumerated() { inverse[axis] = position }
        return try transpose(dy, permutation: inverse)
    }

    /// Zeros around `dy` where the slice left the operand out.
    static func sliceBack(_ dy: Node, into shape: Shape, starts: [Int], sizes: Shape) throws -> Node {
        let high = (0..<sizes.rank).map { axis -> Int in
            guard case .size(let dim) = shape[axis], case .size(let size) = sizes[axis] else { return 0 }
            return dim - starts[axis] - size
        }
        return try pad(dy, low: starts, high: high)
    }

    /// The part of `dy` each operand contributed.
    static func concatenateBack(_ dy: Node, into shapes: [Shape], axis: Int) throws -> [Node?] {
        var offset = 0
        return try shapes.map { shape in
            var starts = [Int](repeating: 0, count: shape.rank)
            starts[axis] = offset
            offset += shape[axis].staticSize ?? 0
            return try dy.graph.append(.slice(starts: starts, sizes: shape), [dy])
        }
    }
}
