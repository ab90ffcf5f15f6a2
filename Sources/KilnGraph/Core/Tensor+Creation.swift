extension Tensor {
    /// A `float32` tensor of `shape` holding `scalars` in row-major order.
    ///
    /// - Throws: ``KilnError`` if `scalars.count` is not the product of `shape`.
    public init(shape: [Int], scalars: [Float]) throws {
        try self.init(shape: shape, storage: .float32(scalars))
    }

    /// A tensor of `shape` holding `scalars` (`Int32` or `Bool`) in row-major order.
    ///
    /// - Throws: ``KilnError`` if `scalars.count` is not the product of `shape`.
    public init<Scalar: TensorScalar>(shape: [Int], scalars: [Scalar]) throws {
        try self.init(shape: shape, storage: Scalar.storage(scalars))
    }

    /// A `float32` scalar (shape `[]`).
    public init(_ scalar: Float) {
        self.init(validShape: [], storage: .float32([scalar]))
    }

    /// A `float32` vector (shape `[count]`).
    public init(_ vector: [Float]) {
        self.init(validShape: [vector.count], storage: .float32(vector))
    }

    /// A `float32` matrix from its rows (shape `[rows, columns]`).
    ///
    /// - Throws: ``KilnError`` naming the first row whose length differs from the first row's.
    public init(_ rows: [[Float]]) throws {
        let columns = rows.first?.count ?? 0
        if let ragged = rows.firstIndex(where: { $0.count != columns }) {
            throw KilnError(.invalidArgument,
                            "Tensor(rows): row \(ragged) has \(rows[ragged].count) values but row 0 has \(columns)")
        }
        self.init(validShape: [rows.count, columns], storage: .float32(rows.flatMap { $0 }))
    }

    /// A `float32` tensor of `shape` with every element equal to `value`.
    ///
    /// - Throws: ``KilnError`` if a size is negative, the element count overflows or the
    ///   tensor would exceed ``byteLimit``.
    public init(shape: [Int], repeating value: Float) throws {
        self = try Tensor.filled(shape, with: value)
    }

    /// A tensor of `shape` with every element equal to `value` (`Int32` or `Bool`).
    ///
    /// - Throws: ``KilnError`` if a size is negative, the element count overflows or the
    ///   tensor would exceed ``byteLimit``.
    public init<Scalar: TensorScalar>(shape: [Int], repeating value: Scalar) throws {
        self = try Tensor.filled(shape, with: value)
    }

    private static func filled<Scalar: TensorScalar>(_ shape: [Int], with value: Scalar) throws -> Tensor {
        let count = try checkedCount(shape, dtype: Scalar.dtype, what: "Tensor(shape:repeating:)")
        return try Tensor(shape: shape, storage: Scalar.storage(Array(repeating: value, count: count)))
    }

    /// A `float32` tensor of zeros.
    ///
    /// - Throws: ``KilnError`` if a size is negative or the element count overflows.
    public static func zeros(shape: [Int]) throws -> Tensor {
        try Tensor(shape: shape, repeating: 0)
    }

    /// A `float32` tensor of ones.
    ///
    /// - Throws: ``KilnError`` if a size is negative or the element count overflows.
    public static func ones(shape: [Int]) throws -> Tensor {
        try Tensor(shape: shape, repeating: 1)
    }

    /// The same elements viewed with another shape of the same element count.
    ///
    /// - Throws: ``KilnError`` if the element counts differ.
    public func reshaped(to newShape: [Int]) throws -> Tensor {
        try Tensor(shape: newShape, storage: storage)
    }
}
