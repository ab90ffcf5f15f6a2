extension Reference {
    /// The value of a node that is not a placeholder or a variable, from its operands' values.
    ///
    /// - Parameters:
    ///   - node: The node; its result type resolved with `batch` gives the result's shape.
    ///   - x: The operands' values, in the node's input order.
    ///   - batch: The batch size the operands were computed with.
    /// - Throws: ``KilnError`` for a value out of range (an index, a label), an element count
    ///   that overflows or a result beyond ``Tensor/byteLimit``, or a leaf that needs a feed
    ///   or a variable store.
    package static func evaluate(_ node: NodeDef, operands x: [Tensor], batch: Int) throws -> Tensor {
        let shape = node.type.shape.resolved(batch: batch)
        guard let count = Shape.product(shape) else {
            throw KilnError(.runtime, "with a batch of \(batch) the result has shape \(shape), too many elements to count")
        }
        do {
            try Tensor.checkBytes(count, dtype: node.type.dtype, what: "with a batch of \(batch), the result of shape \(shape)")
        } catch let error as KilnError {
            throw KilnError(.runtime, error.message)
        }
        switch node.op {
        case .placeholder, .variable:
            throw KilnError(.invalidArgument, "\(Printer.name(of: node.op)) has no value without feeds and variables")
        case .scan, .scanResult:
            throw KilnError(.invalidArgument, "a scan's results come from Reference.scan, not one node at a time")
        case .constant(let value):
            return value
        case .elementCount(let counted):
            guard let count = Shape.product(counted.resolved(batch: batch)) else {
                throw KilnError(.runtime, "with a batch of \(batch) the shape \(counted) has too many elements to count")
            }
            return Tensor(Float(count))
        case .unary(let op):
            return try unary(op, x[0])
        case .binary(let op):
            return try binary(op, x[0], x[1], shape: shape)
        case .compare(let op):
            return try compare(op, x[0], x[1], shape: shape)
        case .select:
            return try select(x[0], x[1], x[2], shape: shape)
        case .cast(let dtype):
            return cast(x[0], to: dtype)
        case .reduce(let op, let axes, _):
            return try reduce(op, x[0], axes: axes, shape: shape)
        case .argmax(let axis, _):
            return try argmax(x[0], axis: axis, shape: shape)
        case .reshape:
            return try x[0].reshaped(to: shape)
        case .transpose(let permutation):
            return transpose(x[0], permutation: permutation, shape: shape)
        case .broadcast:
            return broadcast(x[0], shape: shape)
        case .slice(let starts, _):
            return slice(x[0], starts: starts, shape: shape)
        case .pad(let low, _):
            return pad(x[0], low: low, shape: shape)
        case .patches(let window, let padValue):
            return patches(x[0], window: window, padValue: padValue, shape: shape)
        case .foldPatches(let window, _):
            return foldPatches(x[0], window: window, shape: shape)
        case .extremumGradient(let axes):
            return extremumGradient(x[0], extremum: x[1], gradient: x[2], keep: x.count > 3 ? x[3] : nil, axes: axes)
        case .concatenate(let axis):
            return concatenate(x, axis: axis, shape: shape)
        case .gather(let axis):
            return try gather(x[0], indices: x[1], axis: axis, shape: shape)
        case .scatterAdd(let axis, _):
            return try scatterAdd(x[0], indices: x[1], axis: axis, shape: shape)
        case .oneHot(let depth):
            return try oneHot(x[0], depth: depth, shape: shape)
        case .matmul(let transposeA, let transposeB):
            return matmul(x[0], x[1], transposeA: transposeA, transposeB: transposeB, shape: shape)
        case .softmax(let axis):
            return softmax(x[0], axis: axis, log: false)
        case .logSoftmax(let axis):
            return softmax(x[0], axis: axis, log: true)
        case .randomUniform:
            return try randomUniform(seed: x[0], shape: shape)
        case .stopGradient:
            return x[0]
        case .assign:
            return x[1]
        }
    }
}
