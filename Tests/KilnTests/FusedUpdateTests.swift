import Kiln
import KilnTestSupport
import Testing

/// Adam's update runs as one `kiln_adam` call (Kernels/update.c) and gives the bits of the
/// interpreter, for a large weight (in parts on every core) and a small one, step after step.
@Suite("Adam's update in one pass")
struct FusedUpdateTests {
    @Test("kiln_adam gives the interpreter's bits", arguments: [[300, 256], [7, 5]])
    func adamMatchesTheInterpreter(shape: [Int]) throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: 31)
        let w = try graph.variable("w", initialValue: try Tensor.randomUniform(shape: shape, lower: -1, upper: 1, using: &generator))
        let b = try graph.variable("b", initialValue: try Tensor.randomUniform(shape: [shape[1]], lower: -1, upper: 1, using: &generator))
        let g = try graph.placeholder("g", shape: Shape(shape.map { .size($0) }))
        let h = try graph.placeholder("h", shape: [.size(shape[1])])
        try Adam(learningRate: 0.01).apply(to: graph, weights: [("w", w), ("b", b)], gradients: [g, h])
        let jit = try JITProgram(graph: graph, outputs: [:])
        let reference = try InterpreterProgram(graph: graph, outputs: [:])
        let source = jit.lowered.unit.source
        let calls = source.components(separatedBy: "kiln_adam(").count - 1
        #expect(calls == 2, "kiln_adam called \(calls) times:\n\(source)")
        for step in 0..<4 {
            var gradient = try Tensor.randomUniform(shape: shape, lower: -1, upper: 1, using: &generator).scalars
            gradient[step] = 0
            let feeds = ["g": try Tensor(shape: shape, scalars: gradient),
                         "h": try Tensor.randomUniform(shape: [shape[1]], lower: -1, upper: 1, using: &generator)]
            _ = try jit.run(feeds: feeds)
            _ = try reference.run(feeds: feeds)
            for name in reference.variables.names {
                #expect(try jit.variable(name) == reference.variable(name), "\(name) after step \(step)")
            }
        }
    }

    @Test("a loop that is not exactly Adam's update keeps the block primitives")
    func otherLoopsAreLeftAlone() throws {
        let graph = Graph()
        let w = try graph.variable("w", initialValue: Tensor(shape: [300, 256], repeating: Float(0.5)))
        let m = try graph.variable("m", initialValue: Tensor(shape: [300, 256], repeating: Float(0)))
        let v = try graph.variable("v", initialValue: Tensor(shape: [300, 256], repeating: Float(0)))
        let g = try graph.placeholder("g", shape: [300, 256])
        let mNext = try m + (g - m) * 0.1
        let vNext = try v + (square(g) - v) * 0.001
        _ = try graph.assign(m, mNext)
        _ = try graph.assign(v, vNext)
        // sqrt(v') - eps instead of + eps: twelve ops, not Adam's.
        _ = try graph.assign(w, w - (mNext * 0.01) / (sqrt(vNext) - 1e-7))
        let jit = try JITProgram(graph: graph, outputs: [:])
        #expect(!jit.lowered.unit.source.contains("kiln_adam("))
        #expect(jit.lowered.unit.source.contains("kiln_vec_sqrt("))
    }
}
