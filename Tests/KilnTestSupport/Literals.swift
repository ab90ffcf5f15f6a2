import KilnGraph

/// An `f32` tensor from literal values (the shape is known to fit).
package func f32(_ shape: [Int], _ values: [Float]) -> Tensor { literal(shape, values) }
/// An `i32` tensor from literal values.
package func i32(_ shape: [Int], _ values: [Int32]) -> Tensor { literal(shape, values) }
/// A `bool` tensor from literal values.
package func bools(_ shape: [Int], _ values: [Bool]) -> Tensor { literal(shape, values) }
/// A tensor of any element type from literal values.
package func t<Scalar: TensorScalar>(_ shape: [Int], _ values: [Scalar]) -> Tensor { literal(shape, values) }

private func literal<Scalar: TensorScalar>(_ shape: [Int], _ values: [Scalar]) -> Tensor {
    do {
        return try Tensor(shape: shape, scalars: values)
    } catch {
        preconditionFailure("a test literal does not fit its shape: \(error)")
    }
}

/// A stable 64-bit FNV-1a hash, for seeds derived from test names.
package func stableSeed(_ text: String) -> UInt64 {
    text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
}
