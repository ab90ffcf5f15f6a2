extension Infer {
    /// `[..., m, k] x [..., k, n] -> [..., m, n]` with the leading axes broadcast.
    static func matmul(_ a: TensorType, _ b: TensorType, transposeA: Bool, transposeB: Bool) throws -> TensorType {
        guard a.dtype == .float32, b.dtype == .float32 else {
            throw KilnError(.dtypeMismatch, "matmul needs f32 operands, got \(a) and \(b)")
        }
        guard a.shape.rank >= 2, b.shape.rank >= 2 else {
            throw KilnError(.shapeMismatch,
                            "matmul needs operands of rank 2 or more, got \(a) and \(b); reshape vectors to matrices")
        }
        let (m, ka) = matrixDims(a.shape, transposed: transposeA)
        let (kb, n) = matrixDims(b.shape, transposed: transposeB)
        guard ka == kb else {
            throw KilnError(.shapeMismatch,
                            "matmul of \(a) and \(b)\(transposeText(transposeA, transposeB)): "
                            + "inner dimensions \(ka) and \(kb) differ")
        }
        let leading = try Shape.broadcast([Shape(Array(a.shape.dims.dropLast(2))),
                                           Shape(Array(b.shape.dims.dropLast(2)))])
        return TensorType(.float32, Shape(leading.dims + [m, n]))
    }

    /// The (rows, columns) of the matrices of `shape`, after an optional transpose.
    static func matrixDims(_ shape: Shape, transposed: Bool) -> (Dim, Dim) {
        let rows = shape[shape.rank - 2], columns = shape[shape.rank - 1]
        return transposed ? (columns, rows) : (rows, columns)
    }

    private static func transposeText(_ a: Bool, _ b: Bool) -> String {
        switch (a, b) {
        case (false, false): ""
        case (true, false): " (a transposed)"
        case (false, true): " (b transposed)"
        case (true, true): " (both transposed)"
        }
    }
}
