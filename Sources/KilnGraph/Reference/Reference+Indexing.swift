
extension Reference {
    package static func gather(_ params: Tensor, indices: Tensor, axis: Int, shape: [Int]) throws -> Tensor {
        let (outer, length, inner) = Indexing.split(params.shape, at: axis)
        let picks = try checkedIndices(indices, below: length)
        var offsets: [Int] = []
        offsets.reserveCapacity(Indexing.count(shape))
        for o in 0..<outer {
            for index in picks {
                let start = (o * length + index) * inner
                offsets.append(contentsOf: start..<(start + inner))
            }
        }
        return Tensor(validShape: shape, storage: params.storage.picking(offsets))
    }

    package static func scatterAdd(_ updates: Tensor, indices: Tensor, axis: Int, shape: [Int]) throws -> Tensor {
        let (outer, length, inner) = Indexing.split(shape, at: axis)
        let picks = try checkedIndices(indices, below: length)
        func accumulate<T>(_ values: [T], zero: T, _ plus: (T, T) -> T) -> [T] {
            var result = [T](repeating: zero, count: Indexing.count(shape))
            var source = 0
            for o in 0..<outer {
                for index in picks {
                    let start = (o * length + index) * inner
                    for i in 0..<inner {
                        result[start + i] = plus(result[start + i], values[source])
                        source += 1
                    }
                }
            }
            return result
        }
        switch updates.storage {
        case .float32(let values): return Tensor(validShape: shape, storage: .float32(accumulate(values, zero: 0, +)))
        case .int32(let values): return Tensor(validShape: shape, storage: .int32(accumulate(values, zero: 0, &+)))
        case .bool: throw KilnError(.dtypeMismatch, "scatter_add of bool")
        }
    }

    package static func oneHot(_ indices: Tensor, depth: Int, shape: [Int]) throws -> Tensor {
        let picks = try checkedIndices(indices, below: depth)
        var result = [Float](repeating: 0, count: picks.count * depth)
        for (position, index) in picks.enumerated() { result[position * depth + index] = 1 }
        return Tensor(validShape: shape, storage: .float32(result))
    }

    /// The indices as `Int`, each checked to lie in `0..<bound`.
    private static func checkedIndices(_ indices: Tensor, below bound: Int) throws -> [Int] {
        guard case .int32(let values) = indices.storage else {
            throw KilnError(.dtypeMismatch, "indices must be i32, got \(indices.dtype)")
        }
        if let bad = values.firstIndex(where: { $0 < 0 || Int($0) >= bound }) {
            let position = Indexing.unravel(bad, in: indices.shape)
            throw KilnError(.runtime, "index \(values[bad]) at position \(position) is out of range 0..<\(bound)")
        }
        return values.map(Int.init)
    }
}
