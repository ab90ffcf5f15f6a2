import KilnGraph
import KilnInterpreter

/// A program checked against the interpreter on every run (`KILN_VALIDATE=1`): both run on
/// the same feeds, each with its own variables, and any difference is an error naming the
/// result or variable, the element and both values.
public final class ValidatingProgram: Program {
    private let checked: any Program
    private let reference: InterpreterProgram
    /// Relative and absolute tolerances.
    public let rtol: Float, atol: Float

    public var signature: ProgramSignature { checked.signature }
    public var variables: VariableStore { checked.variables }

    /// Wraps `program`, compiled from `graph` and `outputs`, with an interpreter of the same graph.
    ///
    /// - Throws: ``KilnError`` if the interpreter cannot be built.
    public init(_ program: any Program, graph: Graph, outputs: [String: Node], rtol: Float = 1e-4, atol: Float = 1e-5) throws {
        checked = program
        let store = VariableStore()
        try store.register(graph)
        for name in store.names { try store.setValue(try program.variables.value(name), for: name) }
        reference = try InterpreterProgram(graph: graph, outputs: outputs, variables: store)
        self.rtol = rtol
        self.atol = atol
    }

    public func run(feeds: [String: Tensor]) throws -> [String: Tensor] {
        // The interpreter starts from the checked program's variables, so drift never accumulates.
        for name in reference.variables.names { try reference.variables.setValue(try checked.variables.value(name), for: name) }
        let expected = try reference.run(feeds: feeds)
        let actual = try checked.run(feeds: feeds)
        for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
            if let got = actual[name] { try compare(got, value, what: "result \(String(reflecting: name))") }
        }
        for name in reference.variables.names {
            try compare(try checked.variables.value(name), try reference.variables.value(name),
                        what: "variable \(String(reflecting: name))")
        }
        return actual
    }

    private func compare(_ actual: Tensor, _ expected: Tensor, what: String) throws {
        for (index, (a, e)) in zip(actual.scalars, expected.scalars).enumerated() {
            let close = (a.isNaN && e.isNaN) || a == e || (e.isFinite && Swift.abs(a - e) <= atol + rtol * Swift.abs(e))
            if !close {
                throw KilnError(.runtime, "KILN_VALIDATE: \(what) element \(index) is \(a) on the JIT but \(e) on the "
                                + "interpreter (rtol \(rtol), atol \(atol))")
            }
        }
    }
}
