/// The element type of a tensor.
///
/// Models compute in `float32`; `int32` carries labels, indices and `argmax` results;
/// `bool` carries comparison results and `select` conditions.
public enum DType: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// 32-bit IEEE 754 floating point.
    case float32
    /// 32-bit two's-complement signed integer.
    case int32
    /// Boolean.
    case bool

    /// The short name used in printed types: `f32`, `i32`, `bool`.
    public var description: String {
        switch self {
        case .float32: "f32"
        case .int32: "i32"
        case .bool: "bool"
        }
    }

    /// Whether values of this type carry gradients.
    public var isFloatingPoint: Bool { self == .float32 }
}
