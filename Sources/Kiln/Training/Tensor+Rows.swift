import KilnGraph

extension Tensor {
    /// The samples (rows along the first axis) in `range`, as a new tensor.
    ///
    /// - Throws: ``KilnError`` if `range` is outside the first axis.
    public func rows(_ range: Range<Int>) throws -> Tensor {
        guard let first = shape.first, range.lowerBound >= 0, range.upperBound <= first else {
            throw KilnError(.invalidArgument, "rows \(range) are outside a tensor of shape \(shape)")
        }
        let width = shape.dropFirst().reduce(1, *)
        let shape = [range.count] + Array(self.shape.dropFirst())
        let elements = (range.lowerBound * width)..<(range.upperBound * width)
        switch dtype {
        case .int32: return try Tensor(shape: shape, scalars: Array(int32Scalars[elements]))
        case .bool: return try Tensor(shape: shape, scalars: Array(boolScalars[elements]))
        default: return try Tensor(shape: shape, scalars: Array(scalars[elements]))
        }
    }

    /// Tensors joined along the first axis.
    init(stacking parts: [Tensor]) throws {
        let count = parts.reduce(0) { $0 + ($1.shape.first ?? 0) }
        let shape = [count] + Array(parts[0].shape.dropFirst())
        switch parts[0].dtype {
        case .int32: try self.init(shape: shape, scalars: parts.flatMap(\.int32Scalars))
        case .bool: try self.init(shape: shape, scalars: parts.flatMap(\.boolScalars))
        default: try self.init(shape: shape, scalars: parts.flatMap(\.scalars))
        }
    }

    /// `tensor`'s values as `dtype` (f32 ↔ i32).
    init(converting tensor: Tensor, to dtype: DType) {
        let column = Column(tensor, as: dtype)
        self.init(shape: tensor.shape, dtype: dtype, copyingFrom: column.base)
    }
}
