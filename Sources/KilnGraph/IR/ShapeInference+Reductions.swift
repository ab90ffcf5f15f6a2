extension Infer {
    static func reduce(_ op: ReduceOp, _ x: TensorType, axes: [Int], keepDims: Bool) throws -> TensorType {
        try checkAxes(axes, rank: x.shape.rank)
        switch (op, x.dtype) {
        case (.sum, .float32), (.mean, .float32), (.max, .float32), (.min, .float32), (.sum, .int32), (.max, .int32),
             (.min, .int32):
            break
        case (.mean, .int32), (.sum, .bool), (.mean, .bool), (.max, .bool), (.min, .bool):
            throw KilnError(.dtypeMismatch, "\(op.rawValue) does not accept \(x.dtype) operands (got \(x))")
        }
        return TensorType(x.dtype, reducedShape(x.shape, axes: axes, keepDims: keepDims))
    }

    /// `x`'s type, for the extremum over `axes` and its gradient (the reduced axes kept) and
    /// an optional `bool` mask of `x`'s shape.
    static func extremumGradient(_ inputs: [TensorType], axes: [Int]) throws -> TensorType {
        let x = inputs[0]
        try checkAxes(axes, rank: x.shape.rank)
        guard x.dtype == .float32, inputs[1].dtype == .float32, inputs[2].dtype == .float32 else {
            throw KilnError(.dtypeMismatch, "extremum_gradient needs f32 values, extremum and gradient, got "
                            + inputs.prefix(3).map(\.description).joined(separator: ", "))
        }
        let kept = reducedShape(x.shape, axes: axes, keepDims: true)
        guard inputs[1].shape == kept, inputs[2].shape == kept else {
            throw KilnError(.shapeMismatch, "extremum_gradient of \(x) over axes \(axes): the extremum \(inputs[1]) and its "
                            + "gradient \(inputs[2]) must have shape \(kept)")
        }
        if inputs.count == 4 {
            guard inputs[3].dtype == .bool, inputs[3].shape == x.shape else {
                throw KilnError(.shapeMismatch, "extremum_gradient of \(x): the mask must be bool of the same shape, got \(inputs[3])")
            }
        }
        return x
    }

    static func argmax(_ x: TensorType, axis: Int, keepDims: Bool) throws -> TensorType {
        try checkAxis(axis, rank: x.shape.rank)
        guard x.dtype != .bool else {
            throw KilnError(.dtypeMismatch, "argmax does not accept bool operands (got \(x))")
        }
        guard x.shape[axis] != 0 else {
            throw KilnError(.shapeMismatch, "argmax over axis \(axis) of \(x), which is empty")
        }
        return TensorType(.int32, reducedShape(x.shape, axes: [axis], keepDims: keepDims))
    }

    /// `shape` with `axes` removed, or set to 1 when `keepDims`.
    static func reducedShape(_ shape: Shape, axes: [Int], keepDims: Bool) -> Shape {
        var dims: [Dim] = []
        for (axis, dim) in shape.dims.enumerated() {
            if !axes.contains(axis) {
                dims.append(dim)
            } else if keepDims {
                dims.append(1)
            }
        }
        return Shape(dims)
    }
}
