extension Op {
    /// How many operands the op takes.
    public var arity: ClosedRange<Int> {
        switch self {
        case .placeholder, .variable, .constant, .elementCount:
            0...0
        case .unary, .cast, .reduce, .argmax, .reshape, .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .oneHot,
             .softmax, .randomUniform, .logSoftmax, .stopGradient, .scanResult:
            1...1
        case .binary, .compare, .gather, .scatterAdd, .matmul, .assign:
            2...2
        case .select:
            3...3
        case .extremumGradient:
            3...4
        case .concatenate:
            1...Int.max
        case .scan:
            0...Int.max
        }
    }

    /// The type of this op's result for operands of the given types.
    ///
    /// - Throws: ``KilnError`` saying what does not fit (without naming the node; the graph adds that).
    public func resultType(of inputs: [TensorType]) throws -> TensorType {
        guard arity.contains(inputs.count) else {
            let expected = arity.upperBound == Int.max ? "at least \(arity.lowerBound)" : "\(arity.lowerBound)"
            throw KilnError(.invalidGraph, "takes \(expected) operand(s), got \(inputs.count)")
        }
        let type = try inferType(inputs)
        for case .size(let n) in type.shape.dims where n < 0 {
            throw KilnError(.invalidArgument, "result shape \(type.shape) has a negative size")
        }
        guard type.shape.staticProduct != nil else {
            throw KilnError(.shapeMismatch, "result shape \(type.shape) has more elements than an Int can count")
        }
        return type
    }

    private func inferType(_ inputs: [TensorType]) throws -> TensorType {
        switch self {
        case .placeholder(_, let type), .variable(_, let type):
            return type
        case .constant(let value):
            return value.type
        case .elementCount:
            return TensorType(.float32, .scalar)
        case .unary(let op):
            return try Infer.unary(op, inputs[0])
        case .binary(let op):
            return try Infer.binary(op, inputs[0], inputs[1])
        case .compare(let op):
            return try Infer.compare(op, inputs[0], inputs[1])
        case .select:
            return try Infer.select(inputs[0], inputs[1], inputs[2])
        case .cast(let dtype):
            return TensorType(dtype, inputs[0].shape)
        case .reduce(let op, let axes, let keepDims):
            return try Infer.reduce(op, inputs[0], axes: axes, keepDims: keepDims)
        case .argmax(let axis, let keepDims):
            return try Infer.argmax(inputs[0], axis: axis, keepDims: keepDims)
        case .reshape(let target):
            return try Infer.reshape(inputs[0], to: target)
        case .transpose(let permutation):
            return try Infer.transpose(inputs[0], permutation: permutation)
        case .broadcast(let target):
            return try Infer.broadcast(inputs[0], to: target)
        case .slice(let starts, let sizes):
            return try Infer.slice(inputs[0], starts: starts, sizes: sizes)
        case .pad(let low, let high):
            return try Infer.pad(inputs[0], low: low, high: high)
        case .patches(let window, _):
            return try Infer.patches(inputs[0], window: window)
        case .foldPatches(let window, let imageSize):
            return try Infer.foldPatches(inputs[0], window: window, imageSize: imageSize)
        case .extremumGradient(let axes):
            return try Infer.extremumGradient(inputs, axes: axes)
        case .concatenate(let axis):
            return try Infer.concatenate(inputs, axis: axis)
        case .gather(let axis):
            return try Infer.gather(inputs[0], indices: inputs[1], axis: axis)
        case .scatterAdd(let axis, let shape):
            return try Infer.scatterAdd(inputs[0], indices: inputs[1], axis: axis, shape: shape)
        case .oneHot(let depth):
            return try Infer.oneHot(inputs[0], depth: depth)
        case .matmul(let transposeA, let transposeB):
            return try Infer.matmul(inputs[0], inputs[1], transposeA: transposeA, transposeB: transposeB)
        case .softmax(let axis), .logSoftmax(let axis):
            try Infer.requireFloat(inputs[0])
            try Infer.checkAxis(axis, rank: inputs[0].shape.rank)
            return inputs[0]
        case .randomUniform(let shape):
            guard inputs[0] == TensorType(.int32, .scalar) else {
                throw KilnError(.dtypeMismatch, "random_uniform needs an i32 scalar seed, got \(inputs[0])")
            }
            return TensorType(.float32, shape)
        case .stopGradient:
            return inputs[0]
        case .scan(let scan):
            try scan.checkOperands(inputs)
            return TensorType(.float32, .scalar)
        case .scanResult(_, let type):
            // The graph checks that the operand is a scan node with this result.
            guard inputs[0] == TensorType(.float32, .scalar) else {
                throw KilnError(.invalidGraph, "scan_result reads a scan node, not a value of type \(inputs[0])")
            }
            return type
        case .assign:
            guard inputs[0] == inputs[1] else {
                throw KilnError(.shapeMismatch, "the value \(inputs[1]) does not match the variable's type \(inputs[0])")
            }
            return inputs[0]
        }
    }
}

/// Type rules shared by the ops; each throws a ``KilnError`` describing the mismatch.
enum Infer {
    static func requireFloat(_ type: TensorType) throws {
        guard type.dtype == .float32 else {
            throw KilnError(.dtypeMismatch, "needs an f32 operand, got \(type)")
        }
    }

    static func checkAxis(_ axis: Int, rank: Int) throws {
        guard (0..<rank).contains(axis) else {
            throw KilnError(.invalidArgument, "axis \(axis) is out of range for rank \(rank)")
        }
    }

    static func checkAxes(_ axes: [Int], rank: Int) throws {
        for axis in axes { try checkAxis(axis, rank: rank) }
        guard axes == Array(Set(axes)).sorted() else {
            throw KilnError(.invalidArgument, "axes \(axes) must be sorted and unique")
        }
    }
}
