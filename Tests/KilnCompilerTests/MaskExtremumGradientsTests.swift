import KilnCompiler
import KilnGraph
import Testing

@Suite("An activation's gradient mask taken into the pooling gradient before it")
struct MaskExtremumGradientsTests {
    /// A 2×2 max pooling's gradient of maps `[?,4,2,3]` in its window view `[?,2,2,1,2,3]`,
    /// read back as maps by a ReLU's gradient `select(mask, g, other)`.
    private func poolingGradient(_ g: Graph, other: Float = 0, alsoRead: Bool = false) throws -> [String: Node] {
        let x = try g.placeholder("x", shape: [.batch, 2, 2, 1, 2, 3])
        let dy = try g.placeholder("dy", shape: [.batch, 2, 1, 1, 1, 3])
        let mask = try g.placeholder("mask", shape: [.batch, 4, 2, 3], dtype: .bool)
        let shares = try extremumGradient(x, extremum: max(x, axes: [2, 4], keepDims: true), gradient: dy, axes: [2, 4])
        let masked = try select(mask, reshape(shares, to: [.batch, 4, 2, 3]), g.constant(Tensor(other)))
        var outputs = ["dx": masked]
        if alsoRead { outputs["shares"] = shares }
        return outputs
    }

    @Test("the mask becomes the op's fourth operand, viewed in its shape, and the select goes")
    func foldsTheMask() throws {
        let graph = Graph()
        let function = try Function(graph: graph, outputs: try poolingGradient(graph))
        let masked = EliminateDeadCode.run(MaskExtremumGradients.run(function))
        try masked.graph.verify()
        let text = masked.text
        #expect(!text.contains("= select "), "\(text)")
        let ops = text.split(separator: "\n").filter { $0.contains("= extremum_gradient ") }
        #expect(ops.count == 1, "\(text)")
        // Four operands: the values, the maximum, its gradient and the mask viewed as windows.
        let operands = ops.first.map { $0.prefix { $0 != "{" }.filter { $0 == "%" }.count - 1 }
        #expect(operands == 4, "\(text)")
        #expect(text.contains("reshape %2 : bool[?,2,2,1,2,3]"), "\(text)")
    }

    @Test("a gradient something else reads, or a select of another value, is left as it is")
    func leavesOtherSelects() throws {
        let graph = Graph()
        let shared = try Function(graph: graph, outputs: try poolingGradient(graph, alsoRead: true))
        #expect(MaskExtremumGradients.run(shared).text == shared.text)
        for other: Float in [1, -0.0] {
            let graph = Graph()
            let function = try Function(graph: graph, outputs: try poolingGradient(graph, other: other))
            #expect(MaskExtremumGradients.run(function).text == function.text, "other branch \(other)")
        }
    }
}
