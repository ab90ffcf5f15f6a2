import KilnGraph
import KilnInterpreter
import KilnJIT
import Testing

@Suite("Poolings in their convolution's kernel")
struct FusePoolingIntoProductTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var image: [Int], filters: Int, average: Bool
        /// Whether an image's rows of windows split evenly in two, so the pooling joins the product.
        var joins: Bool
        var padding: Padding = .valid
        var testDescription: String { "\(image), \(filters) filters, \(padding) padding, \(average ? "average" : "max") pooling" }
    }

    /// A convolution, its bias and ReLU, then a 2×2 pooling: the pooling runs in the
    /// convolution's parts, chunk by chunk of window rows (no kernel of its own), when an
    /// image's rows of windows are even in number; either way the pooled values have the bits
    /// of the pooling of the program's own activations, and the gradients through the fused
    /// kernel are the interpreter's within rounding.
    @Test("the pooling of a convolution's epilogue, chunk by chunk: the same bits", arguments: [
        Case(image: [26, 26, 1], filters: 6, average: false, joins: true),
        Case(image: [14, 12, 3], filters: 5, average: true, joins: true),
        Case(image: [12, 12, 4], filters: 6, average: false, joins: false),
        // Windows gathered with their padding.
        Case(image: [12, 12, 3], filters: 7, average: false, joins: true, padding: .same),
    ])
    func pooledEpilogue(_ c: Case) throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: UInt64(c.image.reduce(0, +) + c.filters))
        let x = try graph.placeholder("x", shape: Shape([.batch] + c.image.map { .size($0) }))
        let filter = try graph.variable("w", initialValue: try Tensor.randomUniform(shape: [3, 3, c.image[2], c.filters],
                                                                                   lower: -0.5, upper: 0.5, using: &generator))
        let bias = try graph.variable("b", initialValue: try Tensor.randomUniform(shape: [c.filters], lower: -0.2, upper: 0.2,
                                                                                 using: &generator))
        let activation = try relu(conv2d(x, filter, padding: c.padding) + bias)
        func pool(_ value: Node) throws -> Node {
            c.average ? try avgPool2d(value, size: [2, 2], stride: [2, 2]) : try maxPool2d(value, size: [2, 2], stride: [2, 2])
        }
        let pooled = try pool(activation)
        let predict = try JITProgram(graph: graph, outputs: ["y": pooled])
        let source = predict.lowered.unit.source
        let chunked = source.split(separator: "\n").filter { $0.contains("kiln_reduce_f32(") && $0.contains("+ (q)*") }
        // A max pooling read by nothing else pools the windows' products as they are made.
        let pooledAsMade = c.joins && !c.average
        #expect(chunked.count == (c.joins && !pooledAsMade ? 1 : 0), "\(source)")
        #expect(source.contains("kiln_gemm_window_pool(") == pooledAsMade, "\(source)")

        // The activations alone, and the interpreter's pooling of them.
        let activations = try JITProgram(graph: graph, outputs: ["a": activation])
        let side = Graph()
        let a = try side.placeholder("a", shape: activation.type.shape)
        let reference = try InterpreterProgram(graph: side, outputs: ["y": try pool(a)])
        for batch in [1, 2, 5] {
            let feeds = ["x": try Tensor.randomUniform(shape: [batch] + c.image, lower: -1, upper: 1, using: &generator)]
            let got = try #require(try predict.run(feeds: feeds)["y"])
            let mapped = try #require(try activations.run(feeds: feeds)["a"])
            let want = try #require(try reference.run(feeds: ["a": mapped])["y"])
            #expect(got.shape == want.shape)
            let differing = zip(got.scalars, want.scalars).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "batch \(batch): \(differing) of \(got.scalarCount) pooled values with other bits")
        }

        // A training step's gradients, through the same kernel.
        let r = try graph.placeholder("r", shape: pooled.type.shape)
        let gradients = try graph.gradients(of: try sum(pooled * r), wrt: [x, filter, bias])
        let outputs = ["y": pooled, "dx": gradients[0], "dw": gradients[1], "db": gradients[2]]
        let step = try JITProgram(graph: graph, outputs: outputs)
        let stepChunked = step.lowered.unit.source.split(separator: "\n").filter { $0.contains("kiln_reduce_f32(") && $0.contains("+ (q)*") }
        #expect(stepChunked.count == (c.joins ? 1 : 0), "\(step.lowered.unit.source)")
        let interpreter = try InterpreterProgram(graph: graph, outputs: outputs)
        let feeds = ["x": try Tensor.randomUniform(shape: [3] + c.image, lower: -1, upper: 1, using: &generator),
                     "r": try Tensor.randomUniform(shape: [3] + pooled.type.shape.dims.dropFirst().compactMap(\.staticSize),
                                                   lower: -1, upper: 1, using: &generator)]
        let expected = try interpreter.run(feeds: feeds), actual = try step.run(feeds: feeds)
        for name in outputs.keys.sorted() {
            let want = try #require(expected[name]), got = try #require(actual[name])
            #expect(got.shape == want.shape)
            let worst = zip(got.scalars, want.scalars).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
            #expect(worst <= 1e-5, "\(name): relative difference \(worst)")
        }
    }
}
