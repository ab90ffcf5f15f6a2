
extension Reference {
    /// Reduces `x` over `axes`; `shape` is the result's (with or without kept dimensions).
    package static func reduce(_ op: ReduceOp, _ x: Tensor, axes: [Int], shape: [Int]) throws -> Tensor {
        var kept = x.shape
        for axis in axes { kept[axis] = 1 }
        // The result position of every element of x.
        let target = Indexing.offsets(shape: x.shape, strides: Indexing.broadcastStrides(from: kept, to: x.shape))
        let resultCount = Indexing.count(kept)
        switch x.storage {
        case .float32(let values):
            var result: [Float]
            switch op {
            case .sum, .mean:
                result = [Float](repeating: 0, count: resultCount)
                for i in values.indices { result[target[i]] += values[i] }
                if op == .mean {
                    let count = Float(resultCount == 0 ? 0 : values.count / resultCount)
                    result = result.map { $0 / count }
                }
            case .max, .min:
                result = [Float](repeating: op == .max ? -.infinity : .infinity, count: resultCount)
                for i in values.indices {
                    let v = values[i], current = result[target[i]]
                    if v.isNaN || (op == .max ? v > current : v < current) { result[target[i]] = v }
                }
            }
            return Tensor(validShape: shape, storage: .float32(result))
        case .int32(let values) where op != .mean:
            let start: Int32 = op == .max ? .min : (op == .min ? .max : 0)
            var result = [Int32](repeating: start, count: resultCount)
            for i in values.indices {
                let t = target[i]
                switch op {
                case .max: result[t] = Swift.max(result[t], values[i])
                case .min: result[t] = Swift.min(result[t], values[i])
                case .sum, .mean: result[t] &+= values[i]  // (a mean of int32 never gets here)
                }
            }
            return Tensor(validShape: shape, storage: .int32(result))
        default:
            throw KilnError(.dtypeMismatch, "\(op.rawValue) of \(x.dtype)")
        }
    }

    /// The gradient of an extremum over `axes` (see ``Op/extremumGradient(axes:)``): `dy` shared
    /// equally among the elements of each group equal to its extremum `y` (and kept by `keep`).
    /// A tie count is a sum of ones, exact in any order, so this is the composite's value.
    package static func extremumGradient(_ x: Tensor, extremum y: Tensor, gradient dy: Tensor, keep: Tensor?,
                                         axes: [Int]) -> Tensor {
        var kept = x.shape
        for axis in axes { kept[axis] = 1 }
        let target = Indexing.offsets(shape: x.shape, strides: Indexing.broadcastStrides(from: kept, to: x.shape))
        let values = x.scalars, extremes = y.scalars, gradients = dy.scalars
        var ties = [Float](repeating: 0, count: Indexing.count(kept))
        for i in values.indices where values[i] == extremes[target[i]] { ties[target[i]] += 1 }
        var mask: [Bool]? = nil
        if let keep, case .bool(let flags) = keep.storage { mask = flags }
        var result = [Float](repeating: 0, count: values.count)
        for i in values.indices where values[i] == extremes[target[i]] && mask?[i] != false {
            result[i] = gradients[target[i]] / ties[target[i]]
        }
        return Tensor(validShape: x.shape, storage: .float32(result))
    }

    /// The index of the first largest element (or first NaN) along `axis`.
    package static func argmax(_ x: Tensor, axis: Int, shape: [Int]) throws -> Tensor {
        let (outer, length, inner) = Indexing.split(x.shape, at: axis)
        let values = x.scalars
        var result = [Int32](repeating: 0, count: outer * inner)
        guard length > 0 else {
            guard result.isEmpty else {
                throw KilnError(.runtime, "argmax over axis \(axis) of a tensor of shape \(x.shape), which is empty")
            }
            return Tensor(validShape: shape, storage: .int32(result))
        }
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * length * inner + i
                var best = 0, bestValue = values[base]
                if !bestValue.isNaN {
                    for k in 1..<length {
                        let v = values[base + k * inner]
                        if v.isNaN { best = k; break }
                        if v > bestValue { best = k; bestValue = v }
                    }
                }
                result[o * inner + i] = Int32(best)
            }
        }
        return Tensor(validShape: shape, storage: .int32(result))
    }

    /// `softmax` (or `log_softmax` when `log`) along `axis`, shifted by the maximum.
    package static func softmax(_ x: Tensor, axis: Int, log: Bool) -> Tensor {
        let (outer, length, inner) = Indexing.split(x.shape, at: axis)
        let values = x.scalars
        var result = [Float](repeating: 0, count: values.count)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * length * inner + i
                var maximum = -Float.infinity
                for k in 0..<length {
                    let v = values[base + k * inner]
                    if v.isNaN || v > maximum { maximum = v }
                }
                var total: Float = 0
                for k in 0..<length { total += Math.exp(values[base + k * inner] - maximum) }
                let logTotal = Math.log(total)
                for k in 0..<length {
                    let shifted = values[base + k * inner] - maximum
                    result[base + k * inner] = log ? shifted - logTotal : Math.exp(shifted) / total
                }
            }
        }
        return Tensor(validShape: x.shape, storage: .float32(result))
    }
}
