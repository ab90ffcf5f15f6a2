import KilnGraph

/// Products summed over a loop's steps (`acc + x_tᵀ·g_t`: a backward loop's gradients of a
/// recurrent layer's kernels, the accumulators ``SinkSummedProducts`` makes) that the loop adds
/// up a chunk of steps at a time, one GEMM over the chunk's rows, instead of once a step.
///
/// A step's product has only the step's rows to sum (32 at an LSTM's half-batch), so each step
/// reads and writes the whole accumulator (64 KB for an LSTM(64)'s recurrent kernel) to add a
/// product only 32 rows deep. The body writes `g_t` (the step's gradient of the gates) into
/// a buffer of the chunk's steps instead, as many as fit in ``ScanChunk/budget`` bytes, and at
/// the chunk's last step the loop gathers the same steps' rows of `x` and adds `xᵀ·g` over all
/// of them to the accumulator, in place. The sums are the same products added in another
/// order.
struct ScanAccumulation {
    /// One accumulator: the carry, the sequence whose step is the product's transposed operand,
    /// and that operand's width (the accumulator's rows).
    struct Term {
        let carry: Int, sequence: Int, depth: Int
        /// Where the chunk's rows of the sequence are gathered in the loop's workspace.
        var rowsOffset = BatchPolynomial()
    }

    /// `g`, the product's other operand, and the name of the body's output that writes it.
    let gradient: NodeID, name: String
    /// `g`'s width (the accumulators' columns).
    let width: Int
    /// The accumulators that add products with `g`.
    var terms: [Term]
    /// Where the chunk's rows of `g` are kept in the loop's workspace.
    var gradientsOffset = BatchPolynomial()

    /// The workspace the chunk needs: its rows of `g` (at least one step's, however many rows),
    /// then each term's gathered rows, from `start`; returns the offsets set and the end.
    mutating func reserve(from start: BatchPolynomial) -> BatchPolynomial {
        gradientsOffset = start
        var end = start + ScanChunk.rowsBytes(width: width)
        for index in terms.indices {
            terms[index].rowsOffset = end
            end = end + ScanChunk.gatheredBytes(depth: terms[index].depth, width: width)
        }
        return end
    }

    /// The carries `accumulations` add to.
    static func carries(_ accumulations: [ScanAccumulation]) -> Set<Int> {
        Set(accumulations.flatMap { $0.terms.map(\.carry) })
    }

    /// The accumulations of `scan`, grouped by `g`. A carry qualifies when its next value is
    /// `carry + matmul(x, g, transposeA)` (either order) and nothing else in the body reads
    /// the carry or that sum, where `x` is a step's `[batch, f]` slice of a float sequence (the
    /// product's transposed operand), `g` a `[batch, c]` float body value, and the carry is
    /// not one whose every step's value the program reads (`stacked`).
    static func accumulations(_ scan: Scan, stacked: Set<Int>) -> [ScanAccumulation] {
        let body = scan.body, k = scan.carryCount, s = scan.sequenceCount
        let position = Dictionary(uniqueKeysWithValues: scan.parameters.enumerated().map { ($1, $0) })
        let readers = Function.readCounts(body, results: scan.results)
        var groups: [ScanAccumulation] = []
        for carry in 0..<k where !stacked.contains(carry) {
            let parameter = scan.parameters[carry], sum = scan.results[carry]
            guard case .binary(.add) = body[sum.index].op, readers[parameter.index] == 1, readers[sum.index] == 1,
                  body[sum.index].type == body[parameter.index].type, body[sum.index].type.dtype == .float32 else { continue }
            let operands = body[sum.index].inputs
            guard operands.count == 2, operands.contains(parameter),
                  let product = operands.first(where: { $0 != parameter }),
                  case .matmul(true, false) = body[product.index].op, readers[product.index] == 1 else { continue }
            let x = body[product.index].inputs[0], g = body[product.index].inputs[1]
            guard let sequence = position[x], (k..<(k + s)).contains(sequence), position[g] == nil else { continue }
            let xType = body[x.index].type, gType = body[g.index].type
            guard xType.dtype == .float32, gType.dtype == .float32, ScanRows.batchFirst(xType.shape), ScanRows.batchFirst(gType.shape),
                  xType.shape.rank == 2, gType.shape.rank == 2, let depth = xType.shape.dims[1].staticSize,
                  let width = gType.shape.dims[1].staticSize, depth > 0, width > 0 else { continue }
            let name = "summed_rows_\(g.index)"
            let term = Term(carry: carry, sequence: sequence, depth: depth)
            if let group = groups.firstIndex(where: { $0.name == name }) {
                groups[group].terms.append(term)
            } else {
                groups.append(ScanAccumulation(gradient: g, name: name, width: width, terms: [term]))
            }
        }
        return groups
    }
}
