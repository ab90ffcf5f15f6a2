import KilnGraph
import KilnKernels
import Testing

/// A shuffled batch's rows copied out of a data set (`kiln_gather_rows`, Kernels/rows.c), as
/// `fit` feeds a training step: whole rows in the order asked, on one core for a small batch
/// and on every core for a large one.
@Suite("Rows of a shuffled batch")
struct GatherRowsTests {
    @Test("every row lands where the order puts it", arguments: [(3, 12), (128, 3136), (37, 4000)])
    func rowsFollowTheOrder(count: Int, rowBytes: Int) {
        let rows = 2 * count + 5
        let source = (0..<(rows * rowBytes)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / rowBytes) }
        var generator = SeededGenerator(seed: UInt64(count))
        let order = Array((0..<rows).shuffled(using: &generator).prefix(count)).map(Int64.init)
        var target = [UInt8](repeating: 0, count: count * rowBytes)
        source.withUnsafeBytes { x in
            target.withUnsafeMutableBytes { y in kiln_gather_rows(Int64(count), Int64(rowBytes), order, x.baseAddress, y.baseAddress) }
        }
        let wrong = (0..<count).first { row in
            let from = Int(order[row]) * rowBytes
            return target[(row * rowBytes)..<((row + 1) * rowBytes)] != source[from..<(from + rowBytes)]
        }
        #expect(wrong == nil, "row \(wrong ?? 0) of \(count) (\(rowBytes) bytes each) is not row \(order[wrong ?? 0]) of the source")
    }
}
