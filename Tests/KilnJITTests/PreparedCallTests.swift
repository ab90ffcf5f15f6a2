import KilnGraph
import KilnInterpreter
import KilnJIT
import KilnTestSupport
import Testing

/// ``PreparedCall``: one input to one output at one batch size, into the caller's memory.
/// On the JIT backend the output is copied from the arena or, for an input passed through,
/// from its slot; on both backends a call gives the program's own `run` bits.
@Suite("Prepared calls")
struct PreparedCallTests {
    @Test("an output from the arena and one passed through its slot, on both backends")
    func outputsFromArenaAndSlot() throws {
        let graph = Graph()
        let x = try graph.placeholder("x", shape: [.batch, 5])
        let w = try graph.variable("w", initialValue: Tensor(shape: [5, 3], scalars: (0..<15).map { Float($0) / 7 - 1 }))
        let outputs = ["y": try tanh(matmul(x, w)), "x": x]
        let programs: [any Program] = [try JITProgram(graph: graph, outputs: outputs),
                                       try InterpreterProgram(graph: graph, outputs: outputs)]
        let input = (0..<10).map { Float($0) / 3 - 1.5 }
        for program in programs {
            let expected = try #require(try program.run(feeds: ["x": Tensor(shape: [2, 5], scalars: input)])["y"]).scalars
            let y = try program.prepare(batch: 2, output: "y"), same = try program.prepare(batch: 2, output: "x")
            #expect(y.inputShape == [2, 5] && y.outputShape == [2, 3] && y.inputType == .float32 && y.outputType == .float32)
            var out = [Float](repeating: .nan, count: 6), copy = [Float](repeating: .nan, count: 10)
            for _ in 0..<3 {
                try input.withUnsafeBytes { i in try out.withUnsafeMutableBytes { try y.run(i.baseAddress!, into: $0.baseAddress!) } }
                try input.withUnsafeBytes { i in try copy.withUnsafeMutableBytes { try same.run(i.baseAddress!, into: $0.baseAddress!) } }
                #expect(out == expected && copy == input, "\(type(of: program))")
            }
        }
    }

    @Test func whatCannotBePrepared() throws {
        let pair = Graph()
        let x = try pair.placeholder("x", shape: [.batch, 2]), z = try pair.placeholder("z", shape: [.batch, 2])
        let two = try JITProgram(graph: pair, outputs: ["s": x + z])
        expectError("one input", "not 2") { _ = try two.prepare(batch: 1, output: "s") }
        let graph = Graph()
        let only = try graph.placeholder("x", shape: [.batch, 2])
        let one = try JITProgram(graph: graph, outputs: ["d": only * 2])
        expectError("no output", "\"e\"") { _ = try one.prepare(batch: 1, output: "e") }
        expectError("negative", "-1") { _ = try one.prepare(batch: -1, output: "d") }
        let v = try graph.variable("v", initialValue: Tensor(shape: [2], repeating: Float(0)))
        _ = try graph.assign(v, v + 1)
        let assigning = try JITProgram(graph: graph, outputs: ["d": only * 2])
        expectError("assigns variables") { _ = try assigning.prepare(batch: 1, output: "d") }
    }
}
