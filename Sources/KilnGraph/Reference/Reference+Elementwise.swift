
/// The executable definition of every op: plain loops over row-major arrays, written to be
/// obviously correct rather than fast. Shapes arrive checked by the graph's type inference.
package enum Reference {
    package static func unary(_ op: UnaryOp, _ x: Tensor) throws -> Tensor {
        switch x.storage {
        case .float32(let a):
            let f = floatFunction(op)
            return Tensor(validShape: x.shape, storage: .float32(a.map(f)))
        case .int32(let a) where op.acceptsInt32:
            let f: (Int32) -> Int32
            switch op {
            case .neg: f = { 0 &- $0 }
            case .abs: f = { $0 < 0 ? 0 &- $0 : $0 }
            case .sign: f = { $0.signum() }
            case .square: f = { $0 &* $0 }
            case .exp, .log, .sqrt, .rsqrt, .tanh, .sigmoid, .relu, .softplus, .floor, .erf:
                throw KilnError(.dtypeMismatch, "\(op.rawValue) does not accept \(x.dtype)")  // not acceptsInt32
            }
            return Tensor(validShape: x.shape, storage: .int32(a.map(f)))
        default:
            throw KilnError(.dtypeMismatch, "\(op.rawValue) does not accept \(x.dtype)")
        }
    }

    package static func floatFunction(_ op: UnaryOp) -> (Float) -> Float {
        switch op {
        case .neg: { -$0 }
        case .abs: { Swift.abs($0) }
        case .sign: { $0 > 0 ? 1 : ($0 < 0 ? -1 : $0) }
        case .exp: Math.exp
        case .log: Math.log
        case .sqrt: Math.sqrt
        case .rsqrt: { 1 / Math.sqrt($0) }
        case .square: { $0 * $0 }
        case .tanh: Math.tanh
        case .erf: Math.erf
        case .sigmoid: { x in x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)) }
        case .relu: { $0 > 0 || $0.isNaN ? $0 : 0 }
        case .softplus: { x in (x > 0 ? x : 0) + Math.log1p(Math.exp(-Swift.abs(x))) }
        case .floor: Math.floor
        }
    }

    package static func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, shape: [Int]) throws -> Tensor {
        switch (a.storage, b.storage) {
        case (.float32(let x), .float32(let y)):
            let f: (Float, Float) -> Float
            switch op {
            case .add: f = (+)
            case .sub: f = (-)
            case .mul: f = (*)
            case .div: f = (/)
            case .pow: f = Math.pow
            case .maximum: f = { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
            case .minimum: f = { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
            }
            return Tensor(validShape: shape, storage: .float32(zipBroadcast(x, a.shape, y, b.shape, shape, f)))
        case (.int32(let x), .int32(let y)) where op.acceptsInt32:
            let f: (Int32, Int32) -> Int32
            switch op {
            case .add: f = (&+)
            case .sub: f = (&-)
            case .mul: f = (&*)
            case .maximum: f = { Swift.max($0, $1) }
            case .minimum: f = { Swift.min($0, $1) }
            case .div, .pow: throw KilnError(.dtypeMismatch, "\(op.rawValue) of \(a.dtype) and \(b.dtype)")  // not acceptsInt32
            }
            return Tensor(validShape: shape, storage: .int32(zipBroadcast(x, a.shape, y, b.shape, shape, f)))
        default:
            throw KilnError(.dtypeMismatch, "\(op.rawValue) of \(a.dtype) and \(b.dtype)")
        }
    }

    package static func compare(_ op: ComparisonOp, _ a: Tensor, _ b: Tensor, shape: [Int]) throws -> Tensor {
        func apply<T: Comparable>(_ x: [T], _ y: [T]) -> [Bool] {
            let f: (T, T) -> Bool
            switch op {
            case .equal: f = (==)
            case .notEqual: f = (!=)
            case .less: f = (<)
            case .lessEqual: f = (<=)
            case .greater: f = (>)
            case .greaterEqual: f = (>=)
            }
            return zipBroadcast(x, a.shape, y, b.shape, shape, f)
        }
        let result: [Bool]
        switch (a.storage, b.storage) {
        case (.float32(let x), .float32(let y)): result = apply(x, y)
        case (.int32(let x), .int32(let y)): result = apply(x, y)
        case (.bool(let x), .bool(let y)) where op == .equal || op == .notEqual:
            result = zipBroadcast(x, a.shape, y, b.shape, shape, op == .equal ? (==) : (!=))
        default:
            throw KilnError(.dtypeMismatch, "\(op.rawValue) of \(a.dtype) and \(b.dtype)")
        }
        return Tensor(validShape: shape, storage: .bool(result))
    }

    package static func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor, shape: [Int]) throws -> Tensor {
        guard case .bool(let c) = condition.storage, a.dtype == b.dtype else {
            throw KilnError(.dtypeMismatch, "select of \(condition.dtype), \(a.dtype) and \(b.dtype)")
        }
        let cs = Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(from: condition.shape, to: shape))
        let aOffsets = Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(from: a.shape, to: shape))
        let bOffsets = Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(from: b.shape, to: shape))
        // Pick from a and b laid end to end.
        let joined = Tensor.Storage.joined([a.storage, b.storage], dtype: a.dtype)
        let offsets = cs.indices.map { c[cs[$0]] ? aOffsets[$0] : a.scalarCount + bOffsets[$0] }
        return Tensor(validShape: shape, storage: joined.picking(offsets))
    }

    package static func cast(_ x: Tensor, to dtype: DType) -> Tensor {
        let storage: Tensor.Storage
        switch dtype {
        case .float32: storage = .float32(x.scalars)
        case .int32: storage = .int32(x.int32Scalars)
        case .bool: storage = .bool(x.boolScalars)
        }
        return Tensor(validShape: x.shape, storage: storage)
    }

    /// `f` applied to `x` and `y` NumPy-broadcast to `shape`.
    package static func zipBroadcast<A, B, R>(_ x: [A], _ xShape: [Int], _ y: [B], _ yShape: [Int], _ shape: [Int],
                                      _ f: (A, B) -> R) -> [R] {
        if xShape == shape && yShape == shape {
            return zip(x, y).map(f)
        }
        let xs = Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(from: xShape, to: shape))
        let ys = Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(from: yShape, to: shape))
        return xs.indices.map { f(x[xs[$0]], y[ys[$0]]) }
    }
}
