
extension Reference {
    /// `[..., m, k] x [..., k, n] -> [..., m, n]` by the textbook triple loop, leading axes broadcast.
    package static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, shape: [Int]) -> Tensor {
        let x = a.scalars, y = b.scalars
        let aRows = a.shape[a.shape.count - 2], aColumns = a.shape[a.shape.count - 1]
        let bRows = b.shape[b.shape.count - 2], bColumns = b.shape[b.shape.count - 1]
        let m = transposeA ? aColumns : aRows, k = transposeA ? aRows : aColumns
        let n = transposeB ? bRows : bColumns
        let batchShape = Array(shape.dropLast(2))
        let aBatch = Indexing.offsets(
            shape: batchShape,
            strides: Indexing.broadcastStrides(from: Array(a.shape.dropLast(2)), to: batchShape).map { $0 * m * k })
        let bBatch = Indexing.offsets(
            shape: batchShape,
            strides: Indexing.broadcastStrides(from: Array(b.shape.dropLast(2)), to: batchShape).map { $0 * k * n })
        var result = [Float](repeating: 0, count: Indexing.count(shape))
        for t in aBatch.indices {
            let aBase = aBatch[t], bBase = bBatch[t], outBase = t * m * n
            for i in 0..<m {
                for j in 0..<n {
                    var total: Float = 0
                    for p in 0..<k {
                        let left = transposeA ? x[aBase + p * m + i] : x[aBase + i * k + p]
                        let right = transposeB ? y[bBase + j * k + p] : y[bBase + p * n + j]
                        total += left * right
                    }
                    result[outBase + i * n + j] = total
                }
            }
        }
        return Tensor(validShape: shape, storage: .float32(result))
    }
}
