
/// Row-major index arithmetic shared by the reference kernels.
package enum Indexing {
    /// The number of elements of `shape`.
    package static func count(_ shape: some Collection<Int>) -> Int { shape.reduce(1, *) }

    /// Row-major strides of `shape`.
    package static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var stride = 1
        for axis in shape.indices.reversed() {
            strides[axis] = stride
            stride *= shape[axis]
        }
        return strides
    }

    /// Strides that read `source` as if NumPy-broadcast to `target`: 0 along stretched or
    /// added axes.
    package static func broadcastStrides(from source: [Int], to target: [Int]) -> [Int] {
        let sourceStrides = strides(source)
        let offset = target.count - source.count
        return target.indices.map { axis in
            let sourceAxis = axis - offset
            return sourceAxis < 0 || source[sourceAxis] == 1 ? 0 : sourceStrides[sourceAxis]
        }
    }

    /// For each element of `shape` in row-major order, `base + Σ index[axis] * strides[axis]`.
    package static func offsets(shape: [Int], strides: [Int], base: Int = 0) -> [Int] {
        let total = count(shape)
        guard total > 0 else { return [] }
        var result = [Int](repeating: 0, count: total)
        var index = [Int](repeating: 0, count: shape.count)
        var offset = base
        for position in 0..<total {
            result[position] = offset
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                offset += strides[axis]
                if index[axis] < shape[axis] { break }
                offset -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return result
    }

    /// The multi-index of flat position `position` in `shape`.
    package static func unravel(_ position: Int, in shape: [Int]) -> [Int] {
        var rest = position
        var index = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() where shape[axis] > 0 {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return index
    }

    /// `shape` split around `axis` into the element counts before it, along it and after it.
    package static func split(_ shape: [Int], at axis: Int) -> (outer: Int, length: Int, inner: Int) {
        (count(shape[..<axis]), shape[axis], count(shape[(axis + 1)...]))
    }
}

extension Tensor.Storage {
    /// The elements at `offsets`, in order; an offset of -1 reads as zero.
    package func picking(_ offsets: [Int]) -> Tensor.Storage {
        func pick<T: TensorScalar>(_ values: [T]) -> [T] {
            offsets.map { $0 < 0 ? T.zero : values[$0] }
        }
        switch self {
        case .float32(let a): return .float32(pick(a))
        case .int32(let a): return .int32(pick(a))
        case .bool(let a): return .bool(pick(a))
        }
    }

    /// All elements of `parts`, one after the other (all of `dtype`).
    package static func joined(_ parts: [Tensor.Storage], dtype: DType) -> Tensor.Storage {
        var floats: [Float] = [], ints: [Int32] = [], bools: [Bool] = []
        for part in parts {
            switch part {
            case .float32(let a): floats += a
            case .int32(let a): ints += a
            case .bool(let a): bools += a
            }
        }
        switch dtype {
        case .float32: return .float32(floats)
        case .int32: return .int32(ints)
        case .bool: return .bool(bools)
        }
    }
}
