import KilnGraph

/// The C expression of one elementwise op over operand expressions, with exactly the
/// semantics of the reference kernels (NaN handling, wrapping `int32` arithmetic, clamped casts).
enum CExpression {
    /// `op(a)` for `dtype` elements. Only the ops with ``UnaryOp/acceptsInt32`` have an
    /// `int32` form; the verifier keeps the others to `float32`.
    static func unary(_ op: UnaryOp, _ a: String, dtype: DType) -> String {
        let int = dtype == .int32
        switch op {
        case .neg: return int ? "(int32_t)(0u - (uint32_t)\(a))" : "-\(a)"
        case .abs: return int ? "kiln_abs_i32(\(a))" : "fabsf(\(a))"
        case .sign: return int ? "kiln_sign_i32(\(a))" : "kiln_sign(\(a))"
        case .square: return int ? "(int32_t)((uint32_t)\(a) * (uint32_t)\(a))" : "\(a) * \(a)"
        case .exp: return "kiln_exp(\(a))"
        case .log: return "kiln_log(\(a))"
        case .sqrt: return "sqrtf(\(a))"
        case .rsqrt: return "1.0f / sqrtf(\(a))"
        case .tanh: return "kiln_tanh(\(a))"
        case .erf: return "kiln_erf(\(a))"
        case .sigmoid: return "kiln_sigmoid(\(a))"
        case .relu: return "kiln_relu(\(a))"
        case .softplus: return "kiln_softplus(\(a))"
        case .floor: return "floorf(\(a))"
        }
    }

    /// `a op b` for `dtype` elements. Only the ops with ``BinaryOp/acceptsInt32`` have an
    /// `int32` form (wrapping, as the reference computes it).
    static func binary(_ op: BinaryOp, _ a: String, _ b: String, dtype: DType) -> String {
        let int = dtype == .int32
        switch op {
        case .add: return int ? "(int32_t)((uint32_t)\(a) + (uint32_t)\(b))" : "\(a) + \(b)"
        case .sub: return int ? "(int32_t)((uint32_t)\(a) - (uint32_t)\(b))" : "\(a) - \(b)"
        case .mul: return int ? "(int32_t)((uint32_t)\(a) * (uint32_t)\(b))" : "\(a) * \(b)"
        case .maximum: return int ? "(\(a) > \(b) ? \(a) : \(b))" : "kiln_maxf(\(a), \(b))"
        case .minimum: return int ? "(\(a) < \(b) ? \(a) : \(b))" : "kiln_minf(\(a), \(b))"
        case .div: return "\(a) / \(b)"
        case .pow: return "powf(\(a), \(b))"
        }
    }

    /// `a op b` as a `bool` (0 or 1).
    static func compare(_ op: ComparisonOp, _ a: String, _ b: String) -> String {
        let symbol: String
        switch op {
        case .equal: symbol = "=="
        case .notEqual: symbol = "!="
        case .less: symbol = "<"
        case .lessEqual: symbol = "<="
        case .greater: symbol = ">"
        case .greaterEqual: symbol = ">="
        }
        return "(uint8_t)(\(a) \(symbol) \(b))"
    }

    /// `a` converted from `source` to `target` elements.
    static func cast(_ a: String, from source: DType, to target: DType) -> String {
        switch (source, target) {
        case (.float32, .float32), (.int32, .int32), (.bool, .bool): a
        case (.float32, .int32): "kiln_f32_to_i32(\(a))"
        case (.float32, .bool), (.int32, .bool): "(uint8_t)(\(a) != 0)"
        case (.int32, .float32), (.bool, .float32): "(float)\(a)"
        case (.bool, .int32): "(int32_t)\(a)"
        }
    }
}
