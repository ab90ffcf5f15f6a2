import KilnCompiler
import KilnGraph
import KilnInterpreter
import KilnJIT
import Testing

/// Scans on both backends: forward results here, their gradients in GradientParityTests.
let scanParityCases: [ParityCase] = [
    ParityCase("scan", "Elman network, per-step outputs", [
        .float([.batch, 3], -1, 1), .float([5, .batch, 2], -1, 1), .float([2, 3], -1, 1), .float([3, 3], -1, 1), .float([3], -0.5, 0.5),
    ]) { try elman($0[0], $0[1], $0[2], $0[3], $0[4]).outputs[0] },
    ParityCase("scan", "Elman network in reverse, final carry", [
        .float([.batch, 3], -1, 1), .float([4, .batch, 2], -1, 1), .float([2, 3], -1, 1), .float([3, 3], -1, 1), .float([3], -0.5, 0.5),
    ]) { try elman($0[0], $0[1], $0[2], $0[3], $0[4], reverse: true).finalCarries[0] },
    ParityCase("scan_result", "the carries each step began with", [
        .float([.batch, 3], -1, 1), .float([4, .batch, 2], -1, 1), .float([2, 3], -1, 1), .float([3, 3], -1, 1), .float([3], -0.5, 0.5),
    ]) { try elman($0[0], $0[1], $0[2], $0[3], $0[4]).stepCarries[0] },
    ParityCase("scan", "stacked networks, one step", [
        .float([.batch, 3], -1, 1), .float([1, .batch, 2], -1, 1), .float([2, 3], -1, 1), .float([3, 3], -1, 1), .float([3], -0.5, 0.5),
        .float([3, 3], -1, 1),
    ]) {
        let first = try elman($0[0], $0[1], $0[2], $0[3], $0[4])
        return try elman(first.finalCarries[0], first.outputs[0], $0[5], $0[3], $0[4], reverse: true).outputs[0]
    },
    ParityCase("scan", "a body that reads a constant vector", [.float([.batch, 2], -1, 1), .float([3, .batch, 2], -1, 1)]) {
        let out = try runningSum($0[0].graph, $0[0], $0[1], steps: 3)
        return try out.outputs[0] * $0[0].graph.constant(Tensor([0.5, -2]))
    },
]

@Suite("JIT parity: scans")
struct ScanParityTests {
    @Test(arguments: scanParityCases)
    func forward(_ c: ParityCase) throws {
        let (graph, _, out) = try makeGraph(c.inputs, c.build)
        try expectParity(graph, outputs: ["out": out], inputs: c.inputs, seed: stableSeed(c.testDescription), rtol: c.rtol,
                         atol: c.atol, context: c.testDescription)
    }

    @Test func theGeneratedCDoesNotGrowWithTheNumberOfSteps() throws {
        func source(steps: Int) throws -> String {
            let graph = Graph()
            let h0 = try graph.placeholder("h0", shape: [.batch, 8]), xs = try graph.placeholder("xs", shape: [Dim.size(steps), .batch, 4])
            let w = try graph.variable("w", initialValue: Tensor(shape: [4, 8], repeating: Float(0.1)))
            let u = try graph.variable("u", initialValue: Tensor(shape: [8, 8], repeating: Float(0.1)))
            let b = try graph.variable("b", initialValue: Tensor(shape: [8], repeating: Float(0)))
            let out = try elman(h0, xs, w, u, b)
            let loss = try sum(out.outputs[0])
            let grads = try graph.gradients(of: loss, wrt: [w, u, b])
            return try Lowering.lower(graph, outputs: ["loss": loss, "dw": grads[0], "du": grads[1], "db": grads[2]]).unit.source
        }
        let short = try source(steps: 10), long = try source(steps: 1000)
        #expect(short.count > 0)
        // The same C apart from numbers (the step count, and arena offsets that hold all steps).
        func shape(_ text: String) -> String { text.replacing(/[0-9]+/, with: "#") }
        #expect(shape(short) == shape(long))
        #expect(Swift.abs(short.count - long.count) < 200, "\(short.count) vs \(long.count) characters")
    }
}
