import Testing
import KilnGraph
import KilnInterpreter
@_exported import KilnTestSupport


/// Builds a graph with `build`, runs it once on the interpreter and returns the built node's value.
func evaluate(_ feeds: [String: Tensor] = [:], _ build: (Graph) throws -> Node) throws -> Tensor {
    let graph = Graph()
    let node = try build(graph)
    let program = try InterpreterProgram(graph: graph, outputs: ["out": node])
    return try #require(try program.run(feeds: feeds)["out"])
}

/// `expectClose` with the interpreter tests' default tolerances (1e-6).
@discardableResult
func expectClose(_ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-6, atol: Float = 1e-6, _ context: String = "",
                 sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    KilnTestSupport.expectClose(actual, expected, rtol: rtol, atol: atol, context, sourceLocation: sourceLocation)
}
