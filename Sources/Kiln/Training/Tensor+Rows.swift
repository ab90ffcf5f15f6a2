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

    /// The samples at `indices` (rows along the first axis, in that order), as a new tensor.
    ///
    /// - Throws: ``KilnError`` naming the first index outside the first axis.
    public func rows(at indices: [Int]) throws -> Tensor {
        guard let first = shape.first else { throw KilnError(.invalidArgument, "a scalar tensor has no rows") }
        if let bad = indices.first(where: { !(0..<first).contains($0) }) {
            throw KilnError(.invalidArgument, "row \(bad) is outside a tensor of shape \(shape)")
        }
        let width = shape.dropFirst().reduce(1, *)
        let shape = [indices.count] + Array(self.shape.dropFirst())
        func gather<T>(_ values: [T]) -> [T] {
            var out: [T] = []
            out.reserveCapacity(indices.count * width)
            for row in indices { out += values[(row * width)..<((row + 1) * width)] }
            return out
        }
        switch dtype {
        case .int32: return try Tensor(shape: shape, scalars: gather(int32Scalars))
        case .bool: return try Tensor(shape: shape, scalars: gather(boolScalars))
        default: return try Tensor(shape: shape, scalars: gather(scalars))
        }
    }

    /// Tensors joined along the first axis (NumPy's `concatenate`): samples of several sets as one.
    ///
    /// - Throws: ``KilnError`` if there are no parts or they differ in element type or sample shape.
    public init(stacking parts: [Tensor]) throws {
        guard let first = parts.first else { throw KilnError(.invalidArgument, "nothing to stack") }
        for part in parts where part.dtype != first.dtype || part.shape.dropFirst() != first.shape.dropFirst() || part.shape.isEmpty {
            throw KilnError(.shapeMismatch, "cannot stack \(part.dtype) \(part.shape) under \(first.dtype) \(first.shape)")
        }
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

extension Tensor {
    /// The index of the largest value in each row of a `[n, k]` tensor: the predicted class of
    /// each sample from class scores or probabilities (NumPy's `argmax(axis=1)`).
    public func argmaxRows() -> [Int] {
        let width = shape.count == 2 ? shape[1] : 1
        let values = scalars
        guard width > 0 else { return [] }
        return stride(from: 0, to: values.count, by: width).map { start in
            var best = start
            for index in start..<(start + width) where values[index] > values[best] { best = index }
            return best - start
        }
    }
}
