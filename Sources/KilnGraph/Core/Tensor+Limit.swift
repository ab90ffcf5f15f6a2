extension Tensor {
    /// The most bytes that one tensor, one weight or one program's scratch memory may take:
    /// 16 GiB (2^32 `f32` elements). A larger size is a thrown error naming what asked for
    /// it, rather than an allocation that aborts the process.
    public static let byteLimit = 1 << 34

    /// The element count of `shape`, checked: no negative size, no overflow, and at most
    /// ``byteLimit`` bytes of `dtype` elements.
    ///
    /// - Parameter what: What the shape is for, to start the error message (`weight kernel`).
    /// - Throws: ``KilnError`` naming `what` and the shape.
    public static func checkedCount(_ shape: [Int], dtype: DType = .float32, what: @autoclosure () -> String) throws -> Int {
        if let bad = shape.firstIndex(where: { $0 < 0 }) {
            throw KilnError(.invalidArgument, "\(what()) of shape \(shape): dimension \(bad) is negative")
        }
        guard let count = Shape.product(shape) else {
            throw KilnError(.invalidArgument, "\(what()) of shape \(shape): the element count overflows")
        }
        try checkBytes(count, dtype: dtype, what: "\(what()) of shape \(shape)")
        return count
    }

    /// Throws unless `count` elements of `dtype` fit in ``byteLimit``.
    ///
    /// - Throws: ``KilnError`` naming `what`, the size and the limit.
    public static func checkBytes(_ count: Int, dtype: DType = .float32, what: @autoclosure () -> String) throws {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes <= byteLimit else {
            let size = overflow ? "more than 2^63 bytes" : "\(bytes) bytes"
            throw KilnError(.invalidArgument, "\(what()) needs \(size), more than Kiln's limit of \(byteLimit) bytes "
                            + "(16 GiB, Tensor.byteLimit) for one tensor")
        }
    }
}
