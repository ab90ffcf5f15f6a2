import KilnGraph
import KilnInterpreter
import KilnJIT
import Testing

@Suite("Pooling gradients in one pass")
struct ExtremumGradientTests {
    /// The gradients of a loss through a 2×2 max pooling after a ReLU (and a bias), the
    /// convnet's pattern: the pooling's gradient and the ReLU's mask are one
    /// `kiln_extremum_gradient` call, with the interpreter's bits.
    @Test("a ReLU then a max pooling: one call with the mask, the interpreter's bits", arguments: [[6, 6, 4], [7, 5, 3], [24, 24, 32]])
    func reluThenMaxPooling(image: [Int]) throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: UInt64(image.reduce(0, +)))
        let x = try graph.placeholder("x", shape: Shape([.batch] + image.map { .size($0) }))
        let bias = try graph.variable("b", initialValue: try Tensor.randomUniform(shape: [image[2]], lower: -0.2, upper: 0.2, using: &generator))
        let r = try graph.placeholder("r", shape: Shape([.batch, .size(image[0] / 2), .size(image[1] / 2), .size(image[2])]))
        let pooled = try maxPool2d(relu(x + bias), size: [2, 2], stride: [2, 2])
        let loss = try sum(pooled * r)
        let gradients = try graph.gradients(of: loss, wrt: [x, bias])
        let outputs = ["dx": gradients[0], "db": gradients[1]]
        let jit = try JITProgram(graph: graph, outputs: outputs)
        let source = jit.lowered.unit.source
        let calls = source.split(separator: "\n").filter { $0.contains("kiln_extremum_gradient(") }
        #expect(calls.count == 1, "\(source)")
        // The ReLU's mask goes in the call, unless the pooling drops an odd map's last row
        // and column (then the gradient is padded back before the mask reads it).
        let even = image[0] % 2 == 0 && image[1] % 2 == 0
        #expect(calls.first?.contains("(const uint8_t *)0") == !even, "\(source)")
        #expect(!source.contains("kiln_vec_equal("), "\(source)")
        let reference = try InterpreterProgram(graph: graph, outputs: outputs)
        for batch in [1, 3] {
            // Values in steps of 1/4, so that windows hold ties and ReLU zeros.
            let values = try Tensor.randomUniform(shape: [batch] + image, lower: -4, upper: 4, using: &generator).scalars
            let feeds = ["x": try Tensor(shape: [batch] + image, scalars: values.map { ($0 * 4).rounded() / 4 }),
                         "r": try Tensor.randomUniform(shape: [batch, image[0] / 2, image[1] / 2, image[2]], lower: -1, upper: 1,
                                                       using: &generator)]
            let expected = try reference.run(feeds: feeds), actual = try jit.run(feeds: feeds)
            for name in ["dx", "db"] {
                let want = try #require(expected[name]), got = try #require(actual[name])
                #expect(got.shape == want.shape)
                let differing = zip(got.scalars, want.scalars).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(name), batch \(batch): \(differing) elements with other bits")
            }
        }
    }
}
