
extension Reference {
    package static func transpose(_ x: Tensor, permutation: [Int], shape: [Int]) -> Tensor {
        let strides = Indexing.strides(x.shape)
        let offsets = Indexing.offsets(shape: shape, strides: permutation.map { strides[$0] })
        return Tensor(validShape: shape, storage: x.storage.picking(offsets))
    }

    package static func broadcast(_ x: Tensor, shape: [Int]) -> Tensor {
        let offsets = Indexing.offsets(shape: shape, strides: Indexing.broadcastStrides(from: x.shape, to: shape))
        return Tensor(validShape: shape, storage: x.storage.picking(offsets))
    }

    package static func slice(_ x: Tensor, starts: [Int], shape: [Int]) -> Tensor {
        let strides = Indexing.strides(x.shape)
        let base = zip(starts, strides).reduce(0) { $0 + $1.0 * $1.1 }
        let offsets = Indexing.offsets(shape: shape, strides: strides, base: base)
        return Tensor(validShape: shape, storage: x.storage.picking(offsets))
    }

    package static func pad(_ x: Tensor, low: [Int], shape: [Int]) -> Tensor {
        // Each result element reads its source element, or -1 (zero) in the padding.
        let strides = Indexing.strides(x.shape)
        let offsets = (0..<Indexing.count(shape)).map { position -> Int in
            let index = Indexing.unravel(position, in: shape)
            var offset = 0
            for axis in index.indices {
                let source = index[axis] - low[axis]
                if source < 0 || source >= x.shape[axis] { return -1 }
                offset += source * strides[axis]
            }
            return offset
        }
        return Tensor(validShape: shape, storage: x.storage.picking(offsets))
    }

    package static func concatenate(_ parts: [Tensor], axis: Int, shape: [Int]) -> Tensor {
        let (outer, _, inner) = Indexing.split(shape, at: axis)
        let joined = Tensor.Storage.joined(parts.map(\.storage), dtype: parts[0].dtype)
        var offsets: [Int] = []
        offsets.reserveCapacity(Indexing.count(shape))
        for o in 0..<outer {
            var base = 0
            for part in parts {
                let length = part.shape[axis]
                let start = base + o * length * inner
                offsets.append(contentsOf: start..<(start + length * inner))
                base += part.scalarCount
            }
        }
        return Tensor(validShape: shape, storage: joined.picking(offsets))
    }
}
