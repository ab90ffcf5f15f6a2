extension Infer {
    static func gather(_ params: TensorType, indices: TensorType, axis: Int) throws -> TensorType {
        try checkAxis(axis, rank: params.shape.rank)
        try requireIndices(indices)
        return TensorType(params.dtype, gatheredShape(params.shape, indices: indices.shape, axis: axis))
    }

    static func scatterAdd(_ updates: TensorType, indices: TensorType, axis: Int, shape: Shape) throws -> TensorType {
        try checkAxis(axis, rank: shape.rank)
        try requireIndices(indices)
        guard updates.dtype != .bool else {
            throw KilnError(.dtypeMismatch, "scatter_add does not accept bool updates")
        }
        let expected = gatheredShape(shape, indices: indices.shape, axis: axis)
        guard updates.shape == expected else {
            throw KilnError(.shapeMismatch,
                            "updates \(updates.shape) do not match \(expected), the gather of \(shape) by \(indices.shape)")
        }
        return TensorType(updates.dtype, shape)
    }

    static func oneHot(_ indices: TensorType, depth: Int) throws -> TensorType {
        try requireIndices(indices)
        guard depth > 0 else {
            throw KilnError(.invalidArgument, "one_hot depth must be positive, got \(depth)")
        }
        return TensorType(.float32, Shape(indices.shape.dims + [.size(depth)]))
    }

    /// `params[:axis] + indices + params[axis+1:]`.
    static func gatheredShape(_ params: Shape, indices: Shape, axis: Int) -> Shape {
        Shape(Array(params.dims[..<axis]) + indices.dims + Array(params.dims[(axis + 1)...]))
    }

    private static func requireIndices(_ indices: TensorType) throws {
        guard indices.dtype == .int32 else {
            throw KilnError(.dtypeMismatch, "indices must be i32, got \(indices)")
        }
    }
}
