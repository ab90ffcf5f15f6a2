extension Infer {
    static func reshape(_ x: TensorType, to target: Shape) throws -> TensorType {
        guard x.shape.batchDimCount == target.batchDimCount else {
            throw KilnError(.shapeMismatch,
                            "cannot reshape \(x.shape) to \(target): both must have the same number of batch dimensions")
        }
        guard x.shape.staticProduct == target.staticProduct else {
            throw KilnError(.shapeMismatch, "cannot reshape \(x.shape) to \(target): the element counts differ")
        }
        return TensorType(x.dtype, target)
    }

    static func transpose(_ x: TensorType, permutation: [Int]) throws -> TensorType {
        guard permutation.sorted() == Array(0..<x.shape.rank) else {
            throw KilnError(.invalidArgument, "\(permutation) is not a permutation of the axes of \(x)")
        }
        return TensorType(x.dtype, Shape(permutation.map { x.shape[$0] }))
    }

    static func broadcast(_ x: TensorType, to target: Shape) throws -> TensorType {
        guard x.shape.broadcasts(to: target) else {
            throw KilnError(.shapeMismatch, "cannot broadcast \(x.shape) to \(target)")
        }
        return TensorType(x.dtype, target)
    }

    static func slice(_ x: TensorType, starts: [Int], sizes: Shape) throws -> TensorType {
        guard starts.count == x.shape.rank, sizes.rank == x.shape.rank else {
            throw KilnError(.invalidArgument,
                            "slice of \(x) needs \(x.shape.rank) starts and sizes, got \(starts.count) and \(sizes.rank)")
        }
        for axis in 0..<x.shape.rank {
            switch (x.shape[axis], sizes[axis]) {
            case (.batch, .batch) where starts[axis] == 0:
                continue
            case (.size(let dim), .size(let size))
                where starts[axis] >= 0 && size >= 0 && starts[axis] <= dim - size:
                continue
            case (.batch, _), (_, .batch):
                throw KilnError(.shapeMismatch,
                                "slice of \(x) along axis \(axis): the batch dimension can only be taken whole")
            default:
                throw KilnError(.shapeMismatch,
                                "slice of \(x) along axis \(axis): start \(starts[axis]) and size \(sizes[axis]) "
                                + "do not fit in \(x.shape[axis])")
            }
        }
        return TensorType(x.dtype, sizes)
    }

    static func pad(_ x: TensorType, low: [Int], high: [Int]) throws -> TensorType {
        guard low.count == x.shape.rank, high.count == x.shape.rank else {
            throw KilnError(.invalidArgument,
                            "pad of \(x) needs \(x.shape.rank) low and high amounts, got \(low.count) and \(high.count)")
        }
        var dims: [Dim] = []
        for axis in 0..<x.shape.rank {
            guard low[axis] >= 0, high[axis] >= 0 else {
                throw KilnError(.invalidArgument, "pad amounts must not be negative (axis \(axis))")
            }
            switch x.shape[axis] {
            case .batch:
                guard low[axis] == 0, high[axis] == 0 else {
                    throw KilnError(.shapeMismatch, "pad of \(x): the batch dimension (axis \(axis)) cannot be padded")
                }
                dims.append(.batch)
            case .size(let n):
                guard let padded = sum3(n, low[axis], high[axis]) else {
                    throw KilnError(.shapeMismatch, "pad of \(x): axis \(axis) overflows")
                }
                dims.append(.size(padded))
            }
        }
        return TensorType(x.dtype, Shape(dims))
    }

    static func concatenate(_ inputs: [TensorType], axis: Int) throws -> TensorType {
        let first = inputs[0]
        try checkAxis(axis, rank: first.shape.rank)
        var total = 0
        for (position, input) in inputs.enumerated() {
            guard input.dtype == first.dtype, input.shape.rank == first.shape.rank else {
                throw KilnError(.shapeMismatch, "operand \(position) is \(input), operand 0 is \(first)")
            }
            for other in 0..<first.shape.rank where other != axis && input.shape[other] != first.shape[other] {
                throw KilnError(.shapeMismatch,
                                "operand \(position) is \(input), operand 0 is \(first): axis \(other) differs")
            }
            guard case .size(let n) = input.shape[axis], let sum = sum3(total, n, 0) else {
                throw KilnError(.shapeMismatch, "cannot concatenate along axis \(axis), the batch dimension")
            }
            total = sum
        }
        var shape = first.shape
        shape[axis] = .size(total)
        return TensorType(first.dtype, shape)
    }

    private static func sum3(_ a: Int, _ b: Int, _ c: Int) -> Int? {
        let (ab, o1) = a.addingReportingOverflow(b)
        let (abc, o2) = ab.addingReportingOverflow(c)
        return o1 || o2 ? nil : abc
    }
}
