import KilnGraph
import Testing

/// The runtime's softmax (Kernels/indexing.c), which computes the exponentials of rows of
/// classes with the block primitive, gives the reference's bits; softmax (not its log) also
/// in place.
@Suite("The softmax kernel")
struct SoftmaxKernelTests {
    typealias Softmax = @convention(c) (Int64, Int64, Int64, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int32) -> Void

    /// Rows of `length` values with a NaN, an infinity of each sign and a row of -inf among them.
    static func values(outer: Int, length: Int) -> [Float] {
        var state: UInt32 = 7
        var values = (0..<(outer * length)).map { _ -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(Int(state >> 8) % 4001 - 2000) / 100
        }
        let specials: [(row: Int, value: Float)] = [(1, .nan), (2, .infinity), (3, -.infinity)]
        for (row, value) in specials where row < outer { values[row * length + length / 2] = value }
        if outer > 4 { for k in 0..<length { values[4 * length + k] = -.infinity } }
        return values
    }

    @Test("gives the reference's bits along the last axis and the middle one",
          arguments: [(0, 10), (1, 1), (7, 10), (128, 10), (3, 33), (2, 5000), (500, 9)])
    func matchesTheReference(outer: Int, length: Int) throws {
        let softmax = try runtimeFunction("kiln_softmax", as: Softmax.self)
        for inner in [1, 3] {
            for log in [false, true] {
                let x = Self.values(outer: outer, length: length * inner)
                let shape = inner == 1 ? [outer, length] : [outer, length, inner]
                let want = Reference.softmax(try Tensor(shape: shape, scalars: x), axis: 1, log: log).scalars
                var y = [Float](repeating: 0, count: x.count)
                softmax(Int64(outer), Int64(length), Int64(inner), x, &y, log ? 1 : 0)
                var results = [("into another array", y)]
                if !log {  // the log's second pass reads x again, so it cannot run in place
                    var inPlace = x
                    inPlace.withUnsafeMutableBufferPointer {
                        softmax(Int64(outer), Int64(length), Int64(inner), $0.baseAddress, $0.baseAddress, 0)
                    }
                    results.append(("in place", inPlace))
                }
                for (name, got) in results {
                    let differing = zip(got, want).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
                    #expect(differing.isEmpty, """
                        \(outer)x\(length)x\(inner)\(log ? " log" : ""), \(name): \(differing.count) differ, \
                        first at \(differing.first.map { "\($0.offset): \($0.element.0) against \($0.element.1)" } ?? "")
                        """)
                }
            }
        }
    }
}
