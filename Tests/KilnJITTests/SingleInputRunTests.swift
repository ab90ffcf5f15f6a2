import KilnGraph
import KilnInterpreter
import KilnJIT
import KilnTestSupport
import Testing

/// `run(_:output:)`, the prediction path without dictionaries: the same results as
/// `run(feeds:)` on both backends, and the same errors.
@Suite("Running a program of one input")
struct SingleInputRunTests {
    static func program() throws -> (Graph, Node) {
        let graph = Graph()
        let x = try graph.placeholder("x", shape: [.batch, 3])
        let w = try graph.variable("w", initialValue: t([3, 2], [Float(0.5), -1, 2, 0.25, -0.75, 1.5]))
        return (graph, try softmax(try matmul(x, w), axis: 1))
    }

    @Test func givesWhatRunFeedsGives() throws {
        let (graph, y) = try Self.program()
        let jit = try JITProgram(graph: graph, outputs: ["y": y])
        let interpreter = try InterpreterProgram(graph: graph, outputs: ["y": y])
        for batch in [1, 5] {
            let x = t([batch, 3], (0..<(3 * batch)).map { Float($0) * 0.3 - 1 })
            let expected = try #require(try jit.run(feeds: ["x": x])["y"])
            #expect(try jit.run(x, output: "y") == expected)
            expectClose(try interpreter.run(x, output: "y"), expected, rtol: 1e-6, atol: 1e-7, "interpreter at batch \(batch)")
        }
    }

    @Test func wrongShapesUnknownOutputsAndOtherInputsAreErrors() throws {
        let (graph, y) = try Self.program()
        let jit = try JITProgram(graph: graph, outputs: ["y": y])
        expectError("feed \"x\" is f32[2,4] but the placeholder is f32[?,3]") { _ = try jit.run(t([2, 4], [Float](repeating: 0, count: 8)), output: "y") }
        expectError("no output \"z\"") { _ = try jit.run(t([1, 3], [Float(1), 2, 3]), output: "z") }
        let two = Graph()
        let a = try two.placeholder("a", shape: [.batch, 2]), b = try two.placeholder("b", shape: [.batch, 2])
        let both = try JITProgram(graph: two, outputs: ["y": try a + b])
        expectError("takes 2 inputs, not one") { _ = try both.run(t([1, 2], [Float(1), 2]), output: "y") }
    }
}
