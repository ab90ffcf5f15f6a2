import KilnGraph
import KilnInterpreter
import KilnJIT

/// A program checked against the interpreter on every run (`KILN_VALIDATE=1`).
///
/// Each call compares one step from one state, so differences never accumulate:
///
/// 1. The interpreter's variables are set to the checked program's current values.
/// 2. The checked program runs, returning besides its outputs every *decision* it made from
///    floats (comparisons, argmax, sign, floor, float-to-integer casts) and their operands.
/// 3. Each decision is computed again by the reference on the checked program's own
///    operands and must match exactly: a broken comparison is caught here.
/// 4. The interpreter runs on the same feeds, taking the checked program's decisions, so a
///    rounding-level difference in an operand (a ReLU derivative at `x ≈ 0`) cannot send the
///    backends down different branches.
/// 5. Every output and every variable after the call must agree within `rtol` and `atol`.
///
/// Any difference is an error naming the output, variable or node, the element and both values.
public final class ValidatingProgram: Program {
    private let checked: any Program
    private let reference: InterpreterProgram
    private let graph: Graph
    private let decisions: [NodeID]
    /// The inputs, outputs and variables of the program as compiled for the caller.
    public let signature: ProgramSignature
    /// Relative and absolute tolerances.
    public let rtol: Float, atol: Float

    /// The checked program's variables.
    public var variables: VariableStore { checked.variables }

    /// Compiles `graph` for `outputs` with `compile` (the JIT by default) and with the interpreter.
    ///
    /// - Parameters:
    ///   - variables: The checked program's variable store; the interpreter has its own.
    ///   - compile: Compiles a graph, outputs and store into the program to check.
    /// - Throws: ``KilnError`` if either program cannot be built.
    public init(graph: Graph, outputs: [String: Node], variables: VariableStore? = nil, rtol: Float = 1e-4,
                atol: Float = 1e-5,
                compile: (Graph, [String: Node], VariableStore?) throws -> any Program = { graph, outputs, variables in
                    try JITProgram(graph: graph, outputs: outputs, variables: variables)
                }) throws {
        signature = try ProgramSignature(graph: graph, outputs: outputs)
        decisions = graph.decisions(among: signature.liveNodes)
        var extended = outputs
        for id in decisions {
            guard let node = graph.node(id) else { continue }
            extended[Self.decisionName(id)] = node
            for (k, operand) in node.inputs.enumerated() { extended[Self.operandName(id, k)] = operand }
        }
        checked = try compile(graph, extended, variables)
        let store = VariableStore()
        try store.register(graph)
        reference = try InterpreterProgram(graph: graph, outputs: outputs, variables: store)
        self.graph = graph
        self.rtol = rtol
        self.atol = atol
    }

    private static func decisionName(_ id: NodeID) -> String { "kiln_validate/\(id.index)" }
    private static func operandName(_ id: NodeID, _ k: Int) -> String { "kiln_validate/\(id.index)/\(k)" }

    /// Runs the checked program once and compares it with the interpreter (see above).
    ///
    /// - Throws: ``KilnError`` for any difference, or any error of the programs themselves.
    public func run(feeds: [String: Tensor]) throws -> [String: Tensor] {
        for name in reference.variables.names { try reference.variables.setValue(try checked.variables.value(name), for: name) }
        let batch = try signature.batchSize(of: feeds)
        var actual = try checked.run(feeds: feeds)
        var given: [NodeID: Tensor] = [:]
        for id in decisions {
            guard let node = graph.node(id), let decision = actual[Self.decisionName(id)] else { continue }
            let operands = try node.inputs.indices.map { k in
                guard let value = actual[Self.operandName(id, k)] else {
                    throw KilnError(.runtime, "KILN_VALIDATE: \(node) returned no operand \(k)")
                }
                return value
            }
            let recomputed = try Reference.evaluate(node.definition, operands: operands, batch: batch)
            let (want, got) = (recomputed.scalars, decision.scalars)
            if let index = want.indices.first(where: { !(want[$0] == got[$0] || (want[$0].isNaN && got[$0].isNaN)) }) {
                throw KilnError(.runtime, "KILN_VALIDATE: \(node): element \(index) is \(got[index]) on the JIT but "
                                + "\(want[index]) on the interpreter, from the same operands")
            }
            given[id] = decision
        }
        let expected = try reference.run(feeds: feeds, taking: given)
        for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
            if let got = actual[name] { try compare(got, value, what: "result \(String(reflecting: name))") }
        }
        for name in reference.variables.names {
            try compare(try checked.variables.value(name), try reference.variables.value(name),
                        what: "variable \(String(reflecting: name))")
        }
        for key in actual.keys where key.hasPrefix("kiln_validate/") { actual[key] = nil }
        return actual
    }

    private func compare(_ actual: Tensor, _ expected: Tensor, what: String) throws {
        let comparison = actual.compared(to: expected, rtol: rtol, atol: atol)
        guard !comparison.passes else { return }
        guard let worst = comparison.worst else {
            throw KilnError(.runtime, "KILN_VALIDATE: \(what) is \(comparison.actualType) on the JIT but "
                            + "\(comparison.expectedType) on the interpreter")
        }
        throw KilnError(.runtime, "KILN_VALIDATE: \(what) element \(worst.index) is \(worst.actual) on the JIT but "
                        + "\(worst.expected) on the interpreter (\(comparison.mismatches) elements outside rtol \(rtol), "
                        + "atol \(atol))")
    }
}
