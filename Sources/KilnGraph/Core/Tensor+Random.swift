extension Tensor {
    /// A `float32` tensor of values drawn uniformly from `[lower, upper)`.
    ///
    /// - Throws: ``KilnError`` if a size is negative or the element count overflows.
    public static func randomUniform(shape: [Int], lower: Float = 0, upper: Float = 1,
                                     using generator: inout SeededGenerator) throws -> Tensor {
        let count = try checkedCount(shape)
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count { values[i] = lower + (upper - lower) * generator.nextUniform() }
        return Tensor(validShape: shape, storage: .float32(values))
    }

    /// A `float32` tensor of values drawn from a normal distribution.
    ///
    /// - Throws: ``KilnError`` if a size is negative or the element count overflows.
    public static func randomNormal(shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                                    using generator: inout SeededGenerator) throws -> Tensor {
        let count = try checkedCount(shape)
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count { values[i] = mean + standardDeviation * generator.nextNormal() }
        return Tensor(validShape: shape, storage: .float32(values))
    }

    private static func checkedCount(_ shape: [Int]) throws -> Int {
        guard shape.allSatisfy({ $0 >= 0 }), let count = Shape.product(shape) else {
            throw KilnError(.invalidArgument, "random tensor of shape \(shape): invalid shape")
        }
        return count
    }
}
