import KilnGraph
import KilnInterpreter
import KilnJIT
import Testing

/// A batch of zero rows: every op and every sample graph gives the same (empty or reduced)
/// results on both backends, from a program that has never run before.
@Suite("Empty batches")
struct EmptyBatchTests {
    /// Runs `outputs` at batch 0 on fresh programs of both backends and compares them.
    func expectEmptyParity(_ graph: Graph, outputs: [String: Node], feeds: [String: Tensor], context: String) throws {
        let reference = try InterpreterProgram(graph: graph, outputs: outputs)
        let jit = try JITProgram(graph: graph, outputs: outputs)
        let expected: [String: Tensor]
        do {
            expected = try reference.run(feeds: feeds)
        } catch let error as KilnError {
            // The reference refuses (an argmax over an empty axis): the JIT must refuse too.
            #expect(throws: KilnError.self, "\(context): the interpreter threw \(error.message) but the JIT did not") {
                _ = try jit.run(feeds: feeds)
            }
            return
        }
        let actual = try jit.run(feeds: feeds)
        for (name, value) in expected {
            guard let got = actual[name] else {
                Issue.record("\(context): no output \(name)")
                continue
            }
            expectClose(got, value, rtol: 0, atol: 0, "\(context) output \(name) at batch 0")
        }
    }

    @Test("every op case at batch 0", arguments: elementwiseParityCases + structuralParityCases)
    func opCase(_ parity: ParityCase) throws {
        guard parity.inputs.contains(where: { $0.shape.hasBatch }) else { return }
        let (graph, _, result) = try makeGraph(parity.inputs, parity.build)
        var generator = SeededGenerator(seed: 1)
        var feeds: [String: Tensor] = [:]
        for (index, input) in parity.inputs.enumerated() { feeds["x\(index)"] = try input.draw(batch: 0, &generator) }
        try expectEmptyParity(graph, outputs: ["y": result], feeds: feeds, context: parity.testDescription)
    }

    @Test("every sample graph at batch 0, outputs and variables", arguments: SampleGraphs.names)
    func sample(_ name: String) throws {
        let sample = try SampleGraphs.sample(named: name)
        var generator = SeededGenerator(seed: 2)
        let feeds = try sample.makeFeeds(batch: 0, using: &generator)
        try expectEmptyParity(sample.graph, outputs: sample.outputs, feeds: feeds, context: name)
    }

    @Test("a program that only passes its feed through returns an empty tensor")
    func passThrough() throws {
        let graph = Graph()
        let x = try graph.placeholder("x", shape: [.batch, 3])
        let feeds = ["x": try Tensor(shape: [0, 3], scalars: [Float]())]
        try expectEmptyParity(graph, outputs: ["y": try x * 2, "x": x, "n": try graph.elementCount([.batch])],
                              feeds: feeds, context: "pass-through")
        let y = try JITProgram(graph: graph, outputs: ["y": try x * 2]).run(feeds: feeds)["y"]
        #expect(y?.shape == [0, 3])
    }
}
