import KilnGraph
import KilnInterpreter
import KilnJIT
import KilnTestSupport
import Testing

/// Kernels that only reduce a value (`kiln_reduce_f32`, Kernels/reduce.c): the generated C
/// makes one call, and the results are the interpreter's, NaN and ties included.
@Suite("Reductions as one call")
struct ReductionCallTests {
    enum Kind: String, CaseIterable, Sendable { case sum, mean, max, min }

    static let cases: [(shape: [Int], axes: [Int])] = [
        ([4, 13, 2, 13, 2, 8], [2, 4]),  // 2×2 max pooling's shape
        ([4, 6, 5, 3], [1, 2]),  // a global pooling
        ([4, 7, 1, 5], [0]),  // over the batch, with an axis of one
        ([4, 9], [1]),  // the innermost axis
        ([4, 3, 5], [0, 1, 2]),  // everything
        ([4, 40, 40, 50], [1, 3]),  // split between the cores
        ([4, 5, 2, 5, 2, 11], [2, 4]),  // a vector of channels and a few more under a mask
        ([4, 3, 3, 3], [1, 2]),  // fewer channels than a vector
        ([3, 3, 2, 7, 2, 32], [2, 4]),  // two vectors of channels, rows of windows four at a time and then one
        ([2, 3, 2, 5, 2, 80], [2, 4]),  // four vectors of channels and one more
    ]

    @Test("a reduction kernel is one kiln_reduce_f32 call with the interpreter's results",
          arguments: Kind.allCases, cases.indices)
    func reductionMatchesTheInterpreter(kind: Kind, index: Int) throws {
        let (shape, axes) = Self.cases[index]
        let graph = Graph()
        let x = try graph.placeholder("x", shape: Shape([.batch] + shape.dropFirst().map { .size($0) }))
        let y: Node
        switch kind {
        case .sum: y = try sum(x, axes: axes, keepDims: index % 2 == 0)
        case .mean: y = try mean(x, axes: axes, keepDims: index % 2 == 0)
        case .max: y = try max(x, axes: axes, keepDims: index % 2 == 0)
        case .min: y = try min(x, axes: axes, keepDims: index % 2 == 0)
        }
        let jit = try JITProgram(graph: graph, outputs: ["y": y])
        let source = jit.lowered.unit.source
        #expect(source.contains("kiln_reduce_f32("), "\(source)")
        let reference = try InterpreterProgram(graph: graph, outputs: ["y": y])
        var generator = SeededGenerator(seed: UInt64(index * 7 + kind.rawValue.count))
        for batch in axes.contains(0) ? [1, 4] : [0, 1, 4] {
            var scalars = try Tensor.randomUniform(shape: [batch] + shape.dropFirst(), lower: -2, upper: 2, using: &generator).scalars
            // Ties and NaN: the maximum keeps the first NaN and, on ties, the value it has.
            for i in stride(from: 0, to: scalars.count, by: 7) { scalars[i] = 1.5 }
            if kind == .max || kind == .min {
                for i in stride(from: 3, to: scalars.count, by: 41) { scalars[i] = i % 2 == 0 ? .nan : -.nan }
            }
            let feeds = ["x": try Tensor(shape: [batch] + shape.dropFirst(), scalars: scalars)]
            let actual = try #require(try jit.run(feeds: feeds)["y"]), expected = try #require(try reference.run(feeds: feeds)["y"])
            #expect(actual.shape == expected.shape)
            if kind == .max || kind == .min {
                #expect(actual.scalars.map(\.bitPattern) == expected.scalars.map(\.bitPattern), "\(kind) at batch \(batch)")
            } else {
                expectClose(actual, expected, rtol: 1e-6, atol: 1e-6, "\(kind) at batch \(batch)")
            }
        }
    }

    @Test("a reduction fused with the ops before it stays a loop")
    func fusedReductionsStayLoops() throws {
        let graph = Graph()
        let x = try graph.placeholder("x", shape: [.batch, 8, 8, 4])
        let jit = try JITProgram(graph: graph, outputs: ["y": try sum(square(x), axes: [1, 2])])
        #expect(!jit.lowered.unit.source.contains("kiln_reduce_f32("))
    }
}
