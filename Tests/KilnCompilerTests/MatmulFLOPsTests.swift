import KilnCompiler
import KilnGraph
import Testing

@Suite("The matrix-product FLOPs of a function")
struct MatmulFLOPsTests {
    /// h_t = tanh(x_t · w + h_{t-1} · u) over 5 steps of 3 features into 4 units, with a product
    /// the step computes but no result needs.
    private func recurrence(_ graph: Graph, length: Int) throws -> (final: Node, w: Node) {
        let xs = try graph.placeholder("xs\(length)", shape: [.size(length), .batch, 3])
        let h0 = try graph.placeholder("h0\(length)", shape: [.batch, 4])
        let w = try graph.variable("w\(length)", initialValue: Tensor(shape: [3, 4], repeating: Float(0.1)))
        let u = try graph.variable("u\(length)", initialValue: Tensor(shape: [4, 4], repeating: Float(0.2)))
        let body = Graph()
        let h = try body.placeholder("h", shape: [.batch, 4]), x = try body.placeholder("x", shape: [.batch, 3])
        let wb = try body.placeholder("w", shape: [3, 4]), ub = try body.placeholder("u", shape: [4, 4])
        _ = try matmul(h, ub, transposeB: true)
        let next = try tanh(matmul(x, wb) + matmul(h, ub))
        let loop = try Scan(body: body, carries: [h], steps: [x], invariants: [wb, ub], newCarries: [next],
                            outputs: [], length: length)
        return (try graph.scan(loop, carries: [h0], sequences: [xs], invariants: [w, u]).finalCarries[0], w)
    }

    @Test("a scan's live products count once per step, beside the function's own")
    func scanBodiesCountPerStep() throws {
        let graph = Graph()
        let final = try recurrence(graph, length: 5).final
        _ = try recurrence(graph, length: 7)  // no result reads it
        let v = try graph.variable("v", initialValue: Tensor(shape: [4, 2], repeating: Float(1)))
        let y = try matmul(final, v)
        let gram = try matmul(final, final, transposeA: true)
        _ = try matmul(gram, gram)  // no result reads it
        let function = try Function(graph: graph, outputs: ["y": y, "gram": gram])
        // Batch 2. Per step: x·w 2·(2·4)·3 = 48, h·u 2·(2·4)·4 = 64; five steps: 560. Then
        // final·v 2·(2·2)·4 = 32 and finalᵀ·final 2·(4·4)·2 = 64.
        #expect(function.matmulFLOPs(batch: 2) == 560 + 32 + 64)
        #expect(function.matmulFLOPs(batch: 3) == 5 * (72 + 96) + 48 + 96)
    }

    @Test("a training step counts the backward loop's products, and the forward loop once when merged")
    func gradientLoopsCount() throws {
        let graph = Graph()
        let (final, w) = try recurrence(graph, length: 5)
        let loss = try sum(final)
        let forward = try Function(graph: graph, outputs: ["loss": loss]).matmulFLOPs(batch: 2)
        let gradient = try graph.gradients(of: loss, wrt: [w])[0]
        let step = try Function(graph: graph, outputs: ["loss": loss, "dw": gradient])
        #expect(forward == 560)
        // Backward per step: dz·uᵀ 64 (the earlier carry's gradient), xᵀ·dz 48 (dw). As built,
        // the step runs the forward loop twice (once more to save the tanh the backward reads);
        // the optimizer merges the two.
        #expect(step.matmulFLOPs(batch: 2) == 2 * forward + 5 * (64 + 48))
        let optimized = try Pipeline.optimize(step, upTo: "eliminate-dead-code")
        #expect(optimized.matmulFLOPs(batch: 2) == forward + 5 * (64 + 48))
    }
}
