// MARK: Unary

/// `-x`, elementwise (`f32` or `i32`).
public func neg(_ x: Node) throws -> Node { try x.graph.append(.unary(.neg), [x]) }
/// `|x|`, elementwise (`f32` or `i32`).
public func abs(_ x: Node) throws -> Node { try x.graph.append(.unary(.abs), [x]) }
/// -1, 0 or 1 by the sign of `x`, elementwise; ±0 and NaN pass through.
public func sign(_ x: Node) throws -> Node { try x.graph.append(.unary(.sign), [x]) }
/// `e^x`, elementwise.
public func exp(_ x: Node) throws -> Node { try x.graph.append(.unary(.exp), [x]) }
/// The natural logarithm, elementwise.
public func log(_ x: Node) throws -> Node { try x.graph.append(.unary(.log), [x]) }
/// The square root, elementwise.
public func sqrt(_ x: Node) throws -> Node { try x.graph.append(.unary(.sqrt), [x]) }
/// `1 / sqrt(x)`, elementwise.
public func rsqrt(_ x: Node) throws -> Node { try x.graph.append(.unary(.rsqrt), [x]) }
/// `x * x`, elementwise (`f32` or `i32`).
public func square(_ x: Node) throws -> Node { try x.graph.append(.unary(.square), [x]) }
/// The hyperbolic tangent, elementwise.
public func tanh(_ x: Node) throws -> Node { try x.graph.append(.unary(.tanh), [x]) }
/// The error function, `2/sqrt(pi) * integral of exp(-t^2) from 0 to x` (exact GELU uses it).
public func erf(_ x: Node) throws -> Node { try x.graph.append(.unary(.erf), [x]) }
/// `1 / (1 + e^-x)`, elementwise, computed without overflow.
public func sigmoid(_ x: Node) throws -> Node { try x.graph.append(.unary(.sigmoid), [x]) }
/// `max(x, 0)`, elementwise.
public func relu(_ x: Node) throws -> Node { try x.graph.append(.unary(.relu), [x]) }
/// `log(1 + e^x)`, elementwise, computed without overflow.
public func softplus(_ x: Node) throws -> Node { try x.graph.append(.unary(.softplus), [x]) }
/// The largest integer not above `x`, elementwise.
public func floor(_ x: Node) throws -> Node { try x.graph.append(.unary(.floor), [x]) }

// MARK: Binary (NumPy broadcasting)

/// `a + b`, elementwise with broadcasting.
public func add(_ a: Node, _ b: Node) throws -> Node { try a.graph.append(.binary(.add), [a, b]) }
/// `a - b`, elementwise with broadcasting.
public func sub(_ a: Node, _ b: Node) throws -> Node { try a.graph.append(.binary(.sub), [a, b]) }
/// `a * b`, elementwise with broadcasting.
public func mul(_ a: Node, _ b: Node) throws -> Node { try a.graph.append(.binary(.mul), [a, b]) }
/// `a / b`, elementwise with broadcasting (`f32` only).
public func div(_ a: Node, _ b: Node) throws -> Node { try a.graph.append(.binary(.div), [a, b]) }
/// `a` to the power `b`, elementwise with broadcasting (`f32` only), as C's `powf`.
public func pow(_ a: Node, _ b: Node) throws -> Node { try a.graph.append(.binary(.pow), [a, b]) }
/// `a` to the power of a scalar.
public func pow(_ a: Node, _ b: Float) throws -> Node { try pow(a, scalar(b, like: a)) }
/// The larger of `a` and `b`, elementwise with broadcasting; NaN if either is NaN.
public func maximum(_ a: Node, _ b: Node) throws -> Node { try a.graph.append(.binary(.maximum), [a, b]) }
/// The smaller of `a` and `b`, elementwise with broadcasting; NaN if either is NaN.
public func minimum(_ a: Node, _ b: Node) throws -> Node { try a.graph.append(.binary(.minimum), [a, b]) }

// MARK: Comparisons and selection

/// `a == b`, elementwise with broadcasting, as `bool`.
public func equal(_ a: Node, _ b: Node) throws -> Node { try a.graph.append(.compare(.equal), [a, b]) }
/// `a != b`, elementwise with broadcasting, as `bool`.
public func notEqual(_ a: Node, _ b: Node) throws -> Node { try a.graph.append(.compare(.notEqual), [a, b]) }
/// `a < b`, elementwise with broadcasting, as `bool`.
public func less(_ a: Node, _ b: Node) throws -> Node { try a.graph.append(.compare(.less), [a, b]) }
/// `a <= b`, elementwise with broadcasting, as `bool`.
public func lessEqual(_ a: Node, _ b: Node) throws -> Node { try a.graph.append(.compare(.lessEqual), [a, b]) }
/// `a > b`, elementwise with broadcasting, as `bool`.
public func greater(_ a: Node, _ b: Node) throws -> Node { try a.graph.append(.compare(.greater), [a, b]) }
/// `a >= b`, elementwise with broadcasting, as `bool`.
public func greaterEqual(_ a: Node, _ b: Node) throws -> Node {
    try a.graph.append(.compare(.greaterEqual), [a, b])
}

/// `condition ? a : b`, elementwise, broadcasting all three (NumPy's `where`).
public func select(_ condition: Node, _ a: Node, _ b: Node) throws -> Node {
    try condition.graph.append(.select, [condition, a, b])
}

/// `x` converted to `dtype`: float to int truncates toward zero (NaN to 0, clamped to the
/// `Int32` range), numbers to bool test for nonzero, bool to numbers gives 0 or 1.
public func cast(_ x: Node, to dtype: DType) throws -> Node { try x.graph.append(.cast(dtype), [x]) }

/// A scalar constant of `x`'s element type when `value` is exact in it, else `f32`.
func scalar(_ value: Float, like x: Node) -> Node {
    if x.dtype == .int32, let exact = Int32(exactly: value) {
        return x.graph.constant(Tensor(validShape: [], storage: .int32([exact])))
    }
    return x.graph.constant(value)
}

/// `x` unchanged, with no gradient flowing back through it.
public func stopGradient(_ x: Node) throws -> Node { try x.graph.append(.stopGradient, [x]) }

// MARK: Operators

/// Arithmetic operators on nodes, broadcasting like ``add(_:_:)`` and friends. A `Float`
/// operand becomes a scalar constant of the node's element type when it is exact in it.
extension Node {
    /// `a + b`.
    public static func + (a: Node, b: Node) throws -> Node { try add(a, b) }
    /// `a - b`.
    public static func - (a: Node, b: Node) throws -> Node { try sub(a, b) }
    /// `a * b`.
    public static func * (a: Node, b: Node) throws -> Node { try mul(a, b) }
    /// `a / b`.
    public static func / (a: Node, b: Node) throws -> Node { try div(a, b) }
    /// `-x`.
    public static prefix func - (x: Node) throws -> Node { try neg(x) }

    /// `a + b` for a scalar `b`.
    public static func + (a: Node, b: Float) throws -> Node { try add(a, scalar(b, like: a)) }
    /// `a - b` for a scalar `b`.
    public static func - (a: Node, b: Float) throws -> Node { try sub(a, scalar(b, like: a)) }
    /// `a * b` for a scalar `b`.
    public static func * (a: Node, b: Float) throws -> Node { try mul(a, scalar(b, like: a)) }
    /// `a / b` for a scalar `b`.
    public static func / (a: Node, b: Float) throws -> Node { try div(a, scalar(b, like: a)) }
    /// `a + b` for a scalar `a`.
    public static func + (a: Float, b: Node) throws -> Node { try add(scalar(a, like: b), b) }
    /// `a - b` for a scalar `a`.
    public static func - (a: Float, b: Node) throws -> Node { try sub(scalar(a, like: b), b) }
    /// `a * b` for a scalar `a`.
    public static func * (a: Float, b: Node) throws -> Node { try mul(scalar(a, like: b), b) }
    /// `a / b` for a scalar `a`.
    public static func / (a: Float, b: Node) throws -> Node { try div(scalar(a, like: b), b) }
}

/// Uniform numbers in `[0, 1)` of `shape` (which may contain the batch dimension), a pure
/// function of the `int32` scalar `seed` and each element's position: the same seed gives
/// the same numbers on every backend. Feed or assign a new seed to draw new numbers.
public func randomUniform(shape: Shape, seed: Node) throws -> Node {
    try seed.graph.append(.randomUniform(shape), [seed])
}
