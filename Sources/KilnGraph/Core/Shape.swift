/// One dimension of a ``Shape``: a static size, or the symbolic batch size.
///
/// The batch size is not known when a graph is built; every program is compiled once and
/// takes the batch size `n` at run time, so the last short batch of an epoch runs through
/// the same code as the others.
public enum Dim: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The symbolic batch size, printed `?`.
    case batch
    /// A size known when the graph is built.
    case size(Int)

    /// A static dimension from an integer literal.
    public init(integerLiteral value: Int) { self = .size(value) }

    /// `?` for the batch dimension, the number otherwise.
    public var description: String {
        switch self {
        case .batch: "?"
        case .size(let n): String(n)
        }
    }

    /// The static size, or `nil` for the batch dimension.
    public var staticSize: Int? {
        if case .size(let n) = self { n } else { nil }
    }

    /// The concrete size once the batch size is known.
    public func resolved(batch: Int) -> Int {
        switch self {
        case .batch: batch
        case .size(let n): n
        }
    }
}

/// The shape of a graph value: a list of dimensions, any of which may be the batch size.
///
/// `[.batch, 16]` prints as `[?,16]`; a scalar has the empty shape `[]`.
public struct Shape: Hashable, Sendable, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The dimensions, outermost first.
    public var dims: [Dim]

    /// A shape from its dimensions.
    public init(_ dims: [Dim]) { self.dims = dims }

    /// A shape from its dimensions.
    public init(arrayLiteral elements: Dim...) { self.dims = elements }

    /// A static shape from concrete sizes.
    public init(sizes: [Int]) { self.dims = sizes.map { .size($0) } }

    /// The shape of a scalar.
    public static let scalar: Shape = []

    /// The number of dimensions.
    public var rank: Int { dims.count }

    /// The dimension at `axis`.
    public subscript(axis: Int) -> Dim {
        get { dims[axis] }
        set { dims[axis] = newValue }
    }

    /// Whether any dimension is the batch size.
    public var hasBatch: Bool { dims.contains(.batch) }

    /// The concrete sizes once the batch size is known.
    public func resolved(batch: Int) -> [Int] { dims.map { $0.resolved(batch: batch) } }

    /// The static sizes, or `nil` if any dimension is the batch size.
    public var staticSizes: [Int]? {
        var sizes: [Int] = []
        sizes.reserveCapacity(rank)
        for dim in dims {
            guard let n = dim.staticSize else { return nil }
            sizes.append(n)
        }
        return sizes
    }

    /// The product of the static dimensions, or `nil` if it overflows `Int`.
    public var staticProduct: Int? { Shape.product(dims.compactMap(\.staticSize)) }

    /// The number of dimensions that are the batch size.
    public var batchDimCount: Int { dims.count { $0 == .batch } }

    /// `[?,16]`.
    public var description: String { "[" + dims.map(\.description).joined(separator: ",") + "]" }

    /// The product of `sizes`, or `nil` if it overflows `Int`.
    public static func product(_ sizes: [Int]) -> Int? {
        var result = 1
        for size in sizes {
            let (value, overflow) = result.multipliedReportingOverflow(by: size)
            if overflow { return nil }
            result = value
        }
        return result
    }
}
