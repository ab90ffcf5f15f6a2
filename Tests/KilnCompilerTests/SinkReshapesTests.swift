import KilnCompiler
import KilnGraph
import Testing

@Suite("Reshapes sunk below elementwise ops and reductions")
struct SinkReshapesTests {
    /// A max pooling's gradient in its window view `[?,2,2,3]`, read back as `[?,4,3]` by an
    /// activation's gradient (a mask of bools) and a bias gradient (a sum over the rows).
    private func poolingLikeGradient(_ g: Graph) throws -> [String: Node] {
        let pooled = try g.placeholder("share", shape: [.batch, 2, 1, 3])
        let ties = try g.placeholder("ties", shape: [.batch, 2, 2, 3], dtype: .bool)
        let mask = try g.placeholder("mask", shape: [.batch, 4, 3], dtype: .bool)
        let spread = try select(ties, pooled, g.constant(0))
        let gradient = try select(mask, reshape(spread, to: [.batch, 4, 3]), g.constant(0))
        return ["dx": try reshape(gradient, to: [.batch, 12]), "db": try sum(gradient, axes: [0, 1])]
    }

    @Test("an elementwise op and a sum after a reshape run in the operand's shape, in the operand's loop")
    func sinksTheActivationGradientIntoThePoolingGradient() throws {
        let graph = Graph()
        let function = try Function(graph: graph, outputs: try poolingLikeGradient(graph))
        let sunk = EliminateDeadCode.run(SinkReshapes.run(function))
        try sunk.graph.verify()
        #expect(sunk.text.contains("%7 = select %6, %4, %5 : f32[?,2,2,3]"), "\(sunk.text)")
        #expect(sunk.text.contains("sum %7 {axes=[0,1,2]} : f32[3]"), "\(sunk.text)")
        // Fused, the three ops are one kernel; before, the reshape split them in two.
        let before = FuseElementwise.run(EliminateDeadCode.run(function))
        let after = FuseElementwise.run(sunk)
        #expect(Set(before.groups.compactMap { $0 }).count == 2)
        #expect(Set(after.groups.compactMap { $0 }).count == 1, "\(after.text)")
    }

    @Test("an operand of floats that could have run in the op's loop keeps the op where it is")
    func keepsTheOpWhenItWouldWriteAsMuch() throws {
        let graph = Graph()
        let x = try graph.placeholder("x", shape: [.batch, 2, 2])
        let y = try graph.placeholder("y", shape: [.batch, 4])
        // tanh(y) is read only here: sunk, it would be written instead of exp(x).
        let product = try reshape(exp(x), to: [.batch, 4]) * tanh(y)
        let function = try Function(graph: graph, outputs: ["z": product])
        #expect(SinkReshapes.run(function).text == function.text)
        // A value read elsewhere too is written either way, so the op is sunk.
        let shared = try tanh(y)
        let function2 = try Function(graph: graph, outputs: ["z": try reshape(exp(x), to: [.batch, 4]) * shared, "t": shared])
        #expect(SinkReshapes.run(function2).text.contains("mul %"), "\(SinkReshapes.run(function2).text)")
        #expect(SinkReshapes.run(function2).text.contains(": f32[?,2,2]\n"))
    }

    @Test("a convolution's bias and activation run in its product's shape and join the product as its epilogue")
    func sinksTheBiasAndActivationIntoTheProduct() throws {
        let graph = Graph()
        let rows = try graph.placeholder("rows", shape: [.batch, 4, 6])
        let filter = try graph.placeholder("filter", shape: [6, 3])
        let bias = try graph.placeholder("bias", shape: [3])
        let maps = try reshape(matmul(rows, filter), to: [.batch, 2, 2, 3])
        let function = try Function(graph: graph, outputs: ["y": try relu(maps + bias)])
        let sunk = EliminateDeadCode.run(SinkReshapes.run(function))
        try sunk.graph.verify()
        #expect(sunk.text.contains("add %3, %2 : f32[?,4,3]"), "\(sunk.text)")
        #expect(sunk.text.contains("relu %"), "\(sunk.text)")
        #expect(!sunk.text.contains("add %4, %2"), "\(sunk.text)")
        let fused = FuseMatmulEpilogue.run(FuseElementwise.run(sunk))
        #expect(Set(fused.groups.compactMap { $0 }).count == 1, "\(fused.text)")
        #expect(fused.kernels().count == 1, "\(fused.text)")
    }

    @Test("an op reading two views is sunk into the shape of the one with wider elements")
    func sinksIntoTheWiderView() throws {
        let graph = Graph()
        let z = try graph.placeholder("z", shape: [.batch, 4, 3])
        let g = try graph.placeholder("g", shape: [.batch, 2, 1, 2, 3])
        // relu's mask of bools, made in a product's shape, and a gradient of floats made in a
        // pooling's view, both read as maps [?,2,2,3]: the select runs in the gradient's shape.
        let mask = try reshape(greater(z, graph.constant(0)), to: [.batch, 2, 2, 3])
        let gradient = try reshape(exp(g), to: [.batch, 2, 2, 3])
        let function = try Function(graph: graph, outputs: ["dx": try select(mask, gradient, graph.constant(0))])
        let sunk = EliminateDeadCode.run(SinkReshapes.run(function))
        try sunk.graph.verify()
        let selects = sunk.text.split(separator: "\n").filter { $0.contains("= select ") }
        #expect(selects.count == 1 && selects[0].hasSuffix(": f32[?,2,1,2,3]"), "\(sunk.text)")
    }

    @Test("a reduction over part of a group of axes the reshape merged stays after the reshape")
    func keepsAReductionThatSplitsAGroup() throws {
        let graph = Graph()
        let x = try graph.placeholder("x", shape: [.batch, 4, 3])
        // A max pooling: the window axes 2 and 4 are half of the groups [1,2] and [3,4].
        let pooled = try max(reshape(relu(x), to: [.batch, 2, 2, 1, 3]), axes: [2])
        let function = try Function(graph: graph, outputs: ["y": pooled])
        #expect(SinkReshapes.run(function).text == function.text)
    }

    @Test("the groups of axes two shapes of the same elements share")
    func axisGroups() {
        let groups = SinkReshapes.axisGroups([.batch, 26, 26, 32], [.batch, 13, 2, 13, 2, 32])
        #expect(groups?.map { [$0.0.lowerBound, $0.0.upperBound, $0.1.lowerBound, $0.1.upperBound] }
                == [[0, 1, 0, 1], [1, 2, 1, 3], [2, 3, 3, 5], [3, 4, 5, 6]])
        let merged = SinkReshapes.axisGroups([.batch, 6, 4], [.batch, 3, 8])
        #expect(merged?.map { [$0.0.lowerBound, $0.0.upperBound, $0.1.lowerBound, $0.1.upperBound] }
                == [[0, 1, 0, 1], [1, 3, 1, 3]])
        #expect(SinkReshapes.axisGroups([.batch, 4], [4, .batch]) == nil, "the batch moved")
        #expect(SinkReshapes.axisGroups([.batch, 6], [.batch, 4]) == nil, "different sizes")
    }
}
