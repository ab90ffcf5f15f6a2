import KilnGraph

/// The C expression of one elementwise op over operand expressions, with exactly the
/// semantics of the reference kernels (NaN handling, wrapping `int32` arithmetic, clamped casts).
enum CExpression {
    static func unary(_ op: UnaryOp, _ a: String, dtype: DType) -> String {
        if dtype == .int32 {
            switch op {
            case .neg: return "(int32_t)(0u - (uint32_t)\(a))"
            case .abs: return "kiln_abs_i32(\(a))"
            case .sign: return "kiln_sign_i32(\(a))"
            default: return "(int32_t)((uint32_t)\(a) * (uint32_t)\(a))"
            }
        }
        switch op {
        case .neg: return "-\(a)"
        case .abs: return "fabsf(\(a))"
        case .sign: return "kiln_sign(\(a))"
        case .exp: return "expf(\(a))"
        case .log: return "logf(\(a))"
        case .sqrt: return "sqrtf(\(a))"
        case .rsqrt: return "1.0f / sqrtf(\(a))"
        case .square: return "\(a) * \(a)"
        case .tanh: return "tanhf(\(a))"
        case .erf: return "erff(\(a))"
        case .sigmoid: return "kiln_sigmoid(\(a))"
        case .relu: return "kiln_relu(\(a))"
        case .softplus: return "kiln_softplus(\(a))"
        case .floor: return "floorf(\(a))"
        }
    }

    static func binary(_ op: BinaryOp, _ a: String, _ b: String, dtype: DType) -> String {
        if dtype == .int32 {
            switch op {
            case .add: return "(int32_t)((uint32_t)\(a) + (uint32_t)\(b))"
            case .sub: return "(int32_t)((uint32_t)\(a) - (uint32_t)\(b))"
            case .mul: return "(int32_t)((uint32_t)\(a) * (uint32_t)\(b))"
            case .maximum: return "(\(a) > \(b) ? \(a) : \(b))"
            default: return "(\(a) < \(b) ? \(a) : \(b))"
            }
        }
        switch op {
        case .add: return "\(a) + \(b)"
        case .sub: return "\(a) - \(b)"
        case .mul: return "\(a) * \(b)"
        case .div: return "\(a) / \(b)"
        case .pow: return "powf(\(a), \(b))"
        case .maximum: return "kiln_maxf(\(a), \(b))"
        case .minimum: return "kiln_minf(\(a), \(b))"
        }
    }

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

    static func cast(_ a: String, from source: DType, to target: DType) -> String {
        switch (source, target) {
        case (.float32, .int32): "kiln_f32_to_i32(\(a))"
        case (_, .bool) where source != .bool: "(uint8_t)(\(a) != 0)"
        case (_, .float32) where source != .float32: "(float)\(a)"
        case (.bool, .int32): "(int32_t)\(a)"
        default: a
        }
    }
}
