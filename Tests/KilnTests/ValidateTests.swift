import Kiln
import Testing

/// `KILN_VALIDATE` checks each call from one state, takes the checked program's decisions,
/// and still catches a kernel that computes something else.
@Suite("Validating the JIT against the interpreter")
struct ValidateTests {
    /// A training step written out by hand — a ReLU layer, its derivative, RMSprop's update —
    /// so that a twin can differ in one place: `shift` is added to the pre-activation (a
    /// rounding-level difference), `mask` makes the ReLU derivative, `scale` multiplies the step.
    static func step(shift: Float = 0, mask: (Node, Node) throws -> Node = greater, scale: Float = 1) throws
        -> (graph: Graph, outputs: [String: Node]) {
        let g = Graph()
        let x = try g.placeholder("x", shape: [.batch, 2])
        let w = try g.variable("w", initialValue: Tensor([[1, 0.5, -1], [1, 0.25, 2]]))
        let v = try g.variable("v", initialValue: Tensor(shape: [2, 3], repeating: Float(0)))
        let z = try matmul(x, w) + shift
        let h = try relu(z)
        let upstream = g.constant(try Tensor([[0.3, -0.2, 0.5]]))
        let dz = try select(mask(z, g.constant(0)), broadcast(upstream, to: z.shape), g.constant(0))
        let dw = try matmul(x, dz, transposeA: true)
        let vNext = try v * 0.9 + square(dw) * 0.1
        _ = try g.assign(v, vNext)
        _ = try g.assign(w, w - dw * (0.01 * scale) / sqrt(vNext + 1e-7))
        return (g, ["h": h])
    }

    /// A validating program whose checked side is the JIT compiled from `twin` (same nodes,
    /// maybe one constant or op different), against the interpreter on `reference`.
    static func validating(_ reference: (graph: Graph, outputs: [String: Node]),
                           checking twin: (graph: Graph, outputs: [String: Node])) throws -> ValidatingProgram {
        try ValidatingProgram(graph: reference.graph, outputs: reference.outputs) { _, outputs, store in
            let mapped = outputs.mapValues { twin.graph.node($0.id)! }
            return try JITProgram(graph: twin.graph, outputs: mapped, variables: store)
        }
    }

    /// `x · w` is exactly 0 in the first column for this row: a ReLU at its kink.
    let x = try! Tensor([[1, -1], [0.5, 0.25]])

    @Test("the same graph validates call after call")
    func honestProgramPasses() throws {
        let program = try Self.validating(try Self.step(), checking: try Self.step())
        for _ in 0..<20 { _ = try program.run(feeds: ["x": x]) }
        #expect(try program.variable("w") != Tensor([[1, 0.5, -1], [1, 0.25, 2]]))
    }

    @Test("a ReLU derivative flipped by a rounding-level difference is not a mismatch")
    func roundingFlipIsNotAMismatch() throws {
        // The JIT sees 1e-7 where the interpreter sees 0: its mask is true, the interpreter's
        // would be false, and RMSprop turns that into a step of 0.03 in w's first column.
        let program = try Self.validating(try Self.step(), checking: try Self.step(shift: 1e-7))
        for _ in 0..<20 { _ = try program.run(feeds: ["x": x]) }
    }

    @Test("a broken comparison is caught, from the JIT's own operands")
    func brokenComparisonIsCaught() throws {
        let program = try Self.validating(try Self.step(), checking: try Self.step(mask: greaterEqual))
        expectError("KILN_VALIDATE", "greater", "element 0", "from the same operands") {
            _ = try program.run(feeds: ["x": x])
        }
    }

    @Test("a broken update is caught in the variables")
    func brokenArithmeticIsCaught() throws {
        let program = try Self.validating(try Self.step(), checking: try Self.step(scale: 1.01))
        expectError("KILN_VALIDATE", "variable \"w\"") { _ = try program.run(feeds: ["x": x]) }
    }

    @Test("a broken forward result is caught")
    func brokenResultIsCaught() throws {
        let graph = Graph()
        let input = try graph.placeholder("x", shape: [2])
        let other = Graph()
        let otherInput = try other.placeholder("x", shape: [2])
        let program = try Self.validating((graph, ["y": try exp(input) * 1]), checking: (other, ["y": try exp(otherInput) * 1.001]))
        expectError("KILN_VALIDATE", "result \"y\"") { _ = try program.run(feeds: ["x": Tensor([0, 1])]) }
    }

    @Test("the feeds are checked by the program's own signature, without the validation outputs")
    func signatureIsTheUsersOwn() throws {
        let (graph, outputs) = try Self.step()
        let program = try ValidatingProgram(graph: graph, outputs: outputs)
        #expect(program.signature.outputs.map(\.name) == ["h"])
        #expect(try program.run(feeds: ["x": x]).keys.sorted() == ["h"])
    }
}
