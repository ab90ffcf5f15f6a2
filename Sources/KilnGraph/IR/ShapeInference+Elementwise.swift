extension Infer {
    static func unary(_ op: UnaryOp, _ x: TensorType) throws -> TensorType {
        let accepted = x.dtype == .float32 || (x.dtype == .int32 && op.acceptsInt32)
        guard accepted else {
            throw KilnError(.dtypeMismatch, "\(op.rawValue) does not accept \(x.dtype) operands (got \(x))")
        }
        return x
    }

    static func binary(_ op: BinaryOp, _ a: TensorType, _ b: TensorType) throws -> TensorType {
        guard a.dtype == b.dtype else {
            throw KilnError(.dtypeMismatch, "operand types \(a) and \(b) differ; cast one of them")
        }
        let accepted = a.dtype == .float32 || (a.dtype == .int32 && op.acceptsInt32)
        guard accepted else {
            throw KilnError(.dtypeMismatch, "\(op.rawValue) does not accept \(a.dtype) operands")
        }
        return TensorType(a.dtype, try Shape.broadcast([a.shape, b.shape]))
    }

    static func compare(_ op: ComparisonOp, _ a: TensorType, _ b: TensorType) throws -> TensorType {
        guard a.dtype == b.dtype else {
            throw KilnError(.dtypeMismatch, "operand types \(a) and \(b) differ; cast one of them")
        }
        let equality = op == .equal || op == .notEqual
        guard a.dtype != .bool || equality else {
            throw KilnError(.dtypeMismatch, "\(op.rawValue) does not order bool operands")
        }
        return TensorType(.bool, try Shape.broadcast([a.shape, b.shape]))
    }

    static func select(_ condition: TensorType, _ a: TensorType, _ b: TensorType) throws -> TensorType {
        guard condition.dtype == .bool else {
            throw KilnError(.dtypeMismatch, "the condition must be bool, got \(condition)")
        }
        guard a.dtype == b.dtype else {
            throw KilnError(.dtypeMismatch, "the two branches \(a) and \(b) differ in element type")
        }
        return TensorType(a.dtype, try Shape.broadcast([condition.shape, a.shape, b.shape]))
    }
}
