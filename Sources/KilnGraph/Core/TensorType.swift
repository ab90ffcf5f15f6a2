/// The static type of a graph value: element type and shape, printed `f32[?,16]`.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    /// The element type.
    public var dtype: DType
    /// The shape, which may contain the batch dimension.
    public var shape: Shape

    /// A type from its element type and shape.
    public init(_ dtype: DType, _ shape: Shape) {
        self.dtype = dtype
        self.shape = shape
    }

    /// `f32[?,16]`.
    public var description: String { "\(dtype)\(shape)" }
}
