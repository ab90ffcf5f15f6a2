/// A host value: a concrete shape and contiguous row-major storage of one element type.
///
/// Tensors are what goes into a program (feeds, variable values, constants) and what
/// comes out of it. They have value semantics.
///
/// ```swift
/// let x = try Tensor([[0, 0], [0, 1], [1, 0], [1, 1]])   // f32[4,2]
/// let labels = try Tensor(shape: [3], scalars: [Int32(2), 0, 1])
/// ```
public struct Tensor: Hashable, Sendable {
    /// The elements, stored with their element type.
    public enum Storage: Hashable, Sendable {
        case float32([Float])
        case int32([Int32])
        case bool([Bool])

        /// The number of elements.
        public var count: Int {
            switch self {
            case .float32(let a): a.count
            case .int32(let a): a.count
            case .bool(let a): a.count
            }
        }

        /// The element type.
        public var dtype: DType {
            switch self {
            case .float32: .float32
            case .int32: .int32
            case .bool: .bool
            }
        }
    }

    /// The concrete sizes of the dimensions, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// The elements in row-major order.
    public let storage: Storage

    /// A tensor of `shape` holding `storage`.
    ///
    /// - Throws: ``KilnError`` if a size is negative or the element count differs from the shape's.
    public init(shape: [Int], storage: Storage) throws {
        if let bad = shape.firstIndex(where: { $0 < 0 }) {
            throw KilnError(.invalidArgument, "Tensor(shape: \(shape)): dimension \(bad) is negative")
        }
        guard let count = Shape.product(shape) else {
            throw KilnError(.invalidArgument, "Tensor(shape: \(shape)): the element count overflows")
        }
        guard count == storage.count else {
            throw KilnError(.invalidArgument,
                            "Tensor(shape: \(shape)) needs \(count) scalars but was given \(storage.count)")
        }
        self.shape = shape
        self.storage = storage
    }

    /// A tensor whose shape and storage a caller in this package has already checked.
    package init(validShape shape: [Int], storage: Storage) {
        assert(Shape.product(shape) == storage.count, "shape \(shape) does not hold \(storage.count) scalars")
        self.shape = shape
        self.storage = storage
    }

    /// The element type.
    public var dtype: DType { storage.dtype }

    /// The number of elements.
    public var scalarCount: Int { storage.count }

    /// The static type of this value: its element type and (fully static) shape.
    public var type: TensorType { TensorType(dtype, Shape(sizes: shape)) }

    /// The elements as `Float`: `int32` values converted, `bool` as 0 and 1.
    public var scalars: [Float] {
        switch storage {
        case .float32(let a): a
        case .int32(let a): a.map { Float($0) }
        case .bool(let a): a.map { $0 ? 1 : 0 }
        }
    }

    /// The elements as `Int32`: `float32` values converted as ``Tensor/int32(fromFloat:)`` does, `bool` as 0 and 1.
    public var int32Scalars: [Int32] {
        switch storage {
        case .float32(let a): a.map(Tensor.int32(fromFloat:))
        case .int32(let a): a
        case .bool(let a): a.map { $0 ? 1 : 0 }
        }
    }

    /// The elements as `Bool`: nonzero numbers (and NaN) are `true`.
    public var boolScalars: [Bool] {
        switch storage {
        case .float32(let a): a.map { $0 != 0 }
        case .int32(let a): a.map { $0 != 0 }
        case .bool(let a): a
        }
    }

    /// The conversion Kiln uses from `Float` to `Int32`: truncation toward zero, NaN to 0,
    /// and values beyond the `Int32` range clamped to it (C leaves those cases undefined).
    public static func int32(fromFloat x: Float) -> Int32 {
        if x.isNaN { return 0 }
        if x >= 2_147_483_648 { return .max }
        if x <= -2_147_483_648 { return .min }
        return Int32(x)
    }
}

/// An element type a ``Tensor`` can hold.
public protocol TensorScalar: Hashable, Sendable {
    /// The value padding and empty results are filled with.
    static var zero: Self { get }
    /// The element type.
    static var dtype: DType { get }
    /// Storage holding `scalars`.
    static func storage(_ scalars: [Self]) -> Tensor.Storage
}

extension Float: TensorScalar {
    /// `float32`.
    public static var dtype: DType { .float32 }
    /// `float32` storage.
    public static func storage(_ scalars: [Float]) -> Tensor.Storage { .float32(scalars) }
}

extension Int32: TensorScalar {
    /// `int32`.
    public static var dtype: DType { .int32 }
    /// `int32` storage.
    public static func storage(_ scalars: [Int32]) -> Tensor.Storage { .int32(scalars) }
}

extension Bool: TensorScalar {
    /// `false`, the boolean padding value.
    public static var zero: Bool { false }
    /// `bool`.
    public static var dtype: DType { .bool }
    /// `bool` storage.
    public static func storage(_ scalars: [Bool]) -> Tensor.Storage { .bool(scalars) }
}
