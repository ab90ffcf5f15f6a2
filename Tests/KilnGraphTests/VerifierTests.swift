import Testing
import KilnGraph

@Suite("Verifier")
struct VerifierTests {
    let f2 = TensorType(.float32, [2])

    func placeholder(_ name: String, _ type: TensorType) -> NodeDef {
        NodeDef(op: .placeholder(name: name, type: type), inputs: [], type: type)
    }

    func add(_ a: Int, _ b: Int, _ type: TensorType) -> NodeDef {
        NodeDef(op: .binary(.add), inputs: [NodeID(a), NodeID(b)], type: type)
    }

    func verifyError(_ nodes: [NodeDef], _ initialValues: [String: Tensor] = [:]) -> KilnError? {
        #expect(throws: KilnError.self) { try Graph(nodes: nodes, initialValues: initialValues) }
    }

    @Test func acceptsAWellFormedGraph() throws {
        let g = try Graph(nodes: [placeholder("x", f2), add(0, 0, f2)], initialValues: [:])
        #expect(g.description == "%0 = placeholder \"x\" : f32[2]\n%1 = add %0, %0 : f32[2]")
        #expect(g.placeholder(named: "x")?.id == NodeID(0))
    }

    @Test func reportsCycles() {
        let error = verifyError([placeholder("x", f2), add(0, 2, f2), add(1, 0, f2)])
        #expect(error?.kind == .invalidGraph)
        #expect(error?.message == """
            cycle: %1 -> %2 -> %1
              %1 = add %0, %2 : f32[2]
              %2 = add %1, %0 : f32[2]
            """)
        let selfLoop = verifyError([add(0, 0, f2)])
        #expect(selfLoop?.message.hasPrefix("cycle: %0 -> %0") == true)
    }

    @Test func findsCyclesThroughLongChains() {
        // %0 reads the last node of a 20,000-node chain that starts from %0.
        let count = 20_000
        var nodes = [add(count - 1, count - 1, f2)]
        for index in 1..<count { nodes.append(add(index - 1, index - 1, f2)) }
        let error = verifyError(nodes)
        #expect(error?.message.hasPrefix("cycle: %0 -> %19999 -> %19998") == true)
    }

    @Test func reportsNodesOutOfOrder() {
        let error = verifyError([add(1, 1, f2), placeholder("x", f2)])
        #expect(error?.message == "%0 = add %1, %1 : f32[2]: operand %1 is defined after its user; nodes must be in topological order")
    }

    @Test func reportsMissingOperands() {
        let error = verifyError([placeholder("x", f2), add(0, 7, f2)])
        #expect(error?.message == "%1 = add %0, %7 : f32[2]: operand %7 does not exist")
    }

    @Test func reportsWrongRecordedTypes() {
        let error = verifyError([placeholder("x", f2), add(0, 0, TensorType(.float32, [3]))])
        #expect(error?.message == "%1 = add %0, %0 : f32[3]: the recorded type is f32[3] but the operands give f32[2]")
    }

    @Test func reportsOperandsThatDoNotFit() {
        let error = verifyError([placeholder("x", f2), placeholder("y", TensorType(.float32, [3])), add(0, 1, f2)])
        #expect(error?.kind == .shapeMismatch)
        #expect(error?.message.hasPrefix("%2 = add %0, %1 : f32[2]: cannot broadcast shapes [2] and [3]") == true)
    }

    @Test func reportsDuplicateNamesAndBadVariables() throws {
        #expect(verifyError([placeholder("x", f2), placeholder("x", f2)])?.message
            == "%1 = placeholder \"x\" : f32[2]: placeholder name \"x\" is also used by %0")
        let variable = NodeDef(op: .variable(name: "v", type: f2), inputs: [], type: f2)
        #expect(verifyError([variable])?.message == "%0 = variable \"v\" : f32[2]: the variable has no initial value")
        #expect(verifyError([variable], ["v": Tensor([1, 2, 3])])?.message
            == "%0 = variable \"v\" : f32[2]: the initial value is f32[3], not f32[2]")
        #expect(verifyError([variable], ["v": Tensor([1, 2]), "w": Tensor(1)])?.message
            == "initial value \"w\" has no variable node")
        let assign = NodeDef(op: .assign, inputs: [NodeID(0), NodeID(0)], type: f2)
        #expect(verifyError([variable, assign, assign], ["v": Tensor([1, 2])])?.message
            == "%2 = assign %0, %0 : f32[2]: %0 is also assigned by %1")
        #expect(verifyError([placeholder("x", f2), assign])?.message == "%1 = assign %0, %0 : f32[2]: %0 is not a variable")
    }

    @Test func requiresAPlaceholderForTheBatchDimension() throws {
        let g = Graph()
        _ = try broadcast(g.constant(1), to: [.batch, 3])
        let error = #expect(throws: KilnError.self) { try g.verify() }
        #expect(error?.message == "%1 = broadcast %0 : f32[?,3]: uses the batch dimension, but no placeholder declares it")
    }
}
