import KilnGraph

/// A product of a step's slice of a sequence and an invariant (`x_t·W`, a recurrent layer's
/// input product, which ``SinkInputProducts`` moves into the loop) that the loop computes for
/// a chunk of steps at once, one GEMM over the chunk's rows, instead of once a step.
///
/// A step alone reuses `W` across its rows only: at one sample a step, the loop would read
/// `W` from the cache a step at a time (an LSTM(64) over 32 features: 32 KB, 0.3 µs a step,
/// a fifth of a single-sample prediction). A chunk reuses `W` across its steps too, and its
/// products stay in the core's cache until their steps read them: as many steps as fit in
/// ``budget`` bytes of products (at one sample, the whole sequence, as one product ahead of
/// the loop would; at 32 rows of 256 columns, 4 steps). The body reads the step's rows of the
/// chunk in place of the product, through a placeholder of its own.
struct ScanChunk {
    /// The placeholder standing for the step's product in the lowered body.
    let name: String
    /// The sequence's and the invariant's positions among the scan's parameters.
    let sequence: Int, kernel: Int
    /// The product's depth (a row of the sequence's step) and width (a row of the product).
    let depth: Int, width: Int
    /// The byte offsets in the loop's workspace of the chunk's products and of its rows of the
    /// sequence, gathered when a part's rows of consecutive steps are not adjacent.
    var productsOffset = BatchPolynomial(), rowsOffset = BatchPolynomial()

    /// The bytes of products a chunk holds: a quarter of a Zen 3 core's L2 cache (512 KB), as
    /// ``SinkInputProducts/kernelLimit``, so that the chunk stays there beside the weights.
    static let budget = 128 * 1024

    /// The workspace a chunk needs: its products (at least one step's, however many rows),
    /// then its gathered rows, from `start`; returns the offsets set and the end.
    mutating func reserve(from start: BatchPolynomial) -> BatchPolynomial {
        productsOffset = start
        rowsOffset = start + Self.rowsBytes(width: width)
        return rowsOffset + Self.gatheredBytes(depth: depth, width: width)
    }

    /// The bytes of a chunk of rows `width` floats wide: ``budget``, or one step's rows when
    /// they are more (a chunk holds at least one step, however many rows).
    static func rowsBytes(width: Int) -> BatchPolynomial { BatchPolynomial([rounded(budget), rounded(width * 4)]) }

    /// The bytes of the rows `depth` floats wide of as many steps as a chunk of rows `width`
    /// floats wide holds: a sequence's rows gathered for those steps.
    static func gatheredBytes(depth: Int, width: Int) -> BatchPolynomial {
        BatchPolynomial([rounded(budget / (width * 4) * depth * 4), rounded(depth * 4)])
    }

    /// `bytes` rounded up to whole cache lines.
    private static func rounded(_ bytes: Int) -> Int { (bytes + 63) / 64 * 64 }

    /// `scan`'s body with each such product replaced by a placeholder, and the chunks. A
    /// product qualifies when it multiplies a step's `[batch, f]` slice of a float sequence by
    /// an `[f, c]` float invariant, untransposed, and is not itself one of the body's results.
    static func chunking(_ scan: Scan) throws -> (body: Graph, chunks: [ScanChunk]) {
        var body = scan.body
        var chunks: [ScanChunk] = []
        let k = scan.carryCount, s = scan.sequenceCount
        let position = Dictionary(uniqueKeysWithValues: scan.parameters.enumerated().map { ($1, $0) })
        let results = Set(scan.results)
        for (index, node) in scan.body.enumerated() {
            guard case .matmul(false, false) = node.op, !results.contains(NodeID(index)), node.type.dtype == .float32,
                  let sequence = position[node.inputs[0]], (k..<(k + s)).contains(sequence),
                  let kernel = position[node.inputs[1]], kernel >= k + s else { continue }
            let x = scan.body[node.inputs[0].index].type, w = scan.body[node.inputs[1].index].type
            guard x.dtype == .float32, w.dtype == .float32, x.shape.rank == 2, x.shape.dims[0] == .batch,
                  x.shape.batchDimCount == 1, w.shape.rank == 2, w.shape.batchDimCount == 0,
                  let depth = x.shape.dims[1].staticSize, let width = w.shape.dims[1].staticSize, width > 0 else { continue }
            let name = "steps_product_\(index)"
            body[index] = NodeDef(op: .placeholder(name: name, type: node.type), inputs: [], type: node.type)
            chunks.append(ScanChunk(name: name, sequence: sequence, kernel: kernel, depth: depth, width: width))
        }
        return (try Graph(nodes: body, initialValues: [:]), chunks)
    }
}
