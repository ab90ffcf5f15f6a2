extension Shape {
    /// The NumPy broadcast of `shapes`: shapes are aligned on their last axis, missing
    /// leading axes count as size 1, and along each axis every size must be 1 or the same.
    /// The batch dimension broadcasts with 1 and with itself, never with another size.
    ///
    /// - Throws: ``KilnError`` (`.shapeMismatch`) naming the shapes and the axis that disagrees.
    public static func broadcast(_ shapes: [Shape]) throws -> Shape {
        let rank = shapes.map(\.rank).max() ?? 0
        var result: [Dim] = []
        result.reserveCapacity(rank)
        for axis in 0..<rank {
            var dim: Dim = 1
            for shape in shapes {
                let offset = axis - (rank - shape.rank)
                guard offset >= 0 else { continue }
                let candidate = shape[offset]
                if candidate == 1 || candidate == dim { continue }
                if dim == 1 {
                    dim = candidate
                    continue
                }
                let list = shapes.map(\.description).joined(separator: " and ")
                throw KilnError(.shapeMismatch,
                                "cannot broadcast shapes \(list): size \(dim) vs \(candidate) at axis \(axis - rank)")
            }
            result.append(dim)
        }
        return Shape(result)
    }

    /// Whether NumPy broadcasting stretches this shape to `target` exactly.
    public func broadcasts(to target: Shape) -> Bool {
        guard rank <= target.rank else { return false }
        let offset = target.rank - rank
        return dims.indices.allSatisfy { dims[$0] == 1 || dims[$0] == target[$0 + offset] }
    }
}
