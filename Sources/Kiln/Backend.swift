import KilnCompiler
import KilnGraph
import KilnInterpreter
import KilnJIT

/// Where programs run.
public enum Backend: String, Sendable, CaseIterable {
    /// The reference interpreter: plain Swift loops, op by op.
    case interpreter
    /// Fused C compiled in memory by TinyCC, with GEMM through oneDNN or OpenBLAS.
    case jit

    /// The default backend: `KILN_BACKEND` (`interpreter` or `jit`) if set, otherwise `.jit`.
    public static var `default`: Backend {
        guard let name = DebugSwitches.current.backend else { return .jit }
        return Backend(rawValue: name) ?? .jit
    }

    /// Compiles `graph` computing `outputs` on this backend; every assign runs on each call.
    ///
    /// With `KILN_VALIDATE=1`, a JIT program also runs every call on the interpreter and
    /// throws if a result or variable differs by more than `1e-4` relative (`1e-5` absolute)
    /// (see ``ValidatingProgram``).
    ///
    /// - Parameter variables: The variable store to share with other programs.
    /// - Throws: ``KilnError`` if the graph or outputs are invalid, or compilation fails.
    public func compile(_ graph: Graph, outputs: [String: Node], variables: VariableStore? = nil) throws -> any Program {
        switch self {
        case .interpreter:
            return try InterpreterProgram(graph: graph, outputs: outputs, variables: variables)
        case .jit:
            guard DebugSwitches.current.validate else {
                return try JITProgram(graph: graph, outputs: outputs, variables: variables)
            }
            return try ValidatingProgram(graph: graph, outputs: outputs, variables: variables)
        }
    }
}

extension Backend {
    /// Reads a backend name as `KILN_BACKEND` and the tools spell it.
    ///
    /// - Throws: ``KilnError`` listing the backends if `name` is none of them.
    public init(named name: String) throws {
        guard let backend = Backend(rawValue: name.lowercased()) else {
            throw KilnError(.invalidArgument, "unknown backend \(String(reflecting: name)); the backends are: "
                            + Backend.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = backend
    }
}
