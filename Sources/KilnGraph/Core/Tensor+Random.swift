extension Tensor {
    /// A `float32` tensor of values drawn uniformly from `[lower, upper)`.
    ///
    /// - Throws: ``KilnError`` if a size is negative, the element count overflows or the
    ///   tensor would exceed ``byteLimit``.
    public static func randomUniform(shape: [Int], lower: Float = 0, upper: Float = 1,
                                     using generator: inout SeededGenerator) throws -> Tensor {
        let count = try checkedCount(shape, what: "random tensor")
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count { values[i] = lower + (upper - lower) * generator.nextUniform() }
        return Tensor(validShape: shape, storage: .float32(values))
    }

    /// A `float32` tensor of values drawn from a normal distribution.
    ///
    /// - Throws: ``KilnError`` if a size is negative, the element count overflows or the
    ///   tensor would exceed ``byteLimit``.
    public static func randomNormal(shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                                    using generator: inout SeededGenerator) throws -> Tensor {
        let count = try checkedCount(shape, what: "random tensor")
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count { values[i] = mean + standardDeviation * generator.nextNormal() }
        return Tensor(validShape: shape, storage: .float32(values))
    }
}
