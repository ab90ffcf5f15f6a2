import KilnKernels
import Testing

/// The prelude tells generated code which functions exist; the runtime's symbol table gives
/// TinyCC their addresses. The two lists must be the same, or generated code calls a
/// function TinyCC cannot link (declared, not registered) or the table carries a symbol
/// nothing can call by that prototype (registered, not declared).
@Suite("Runtime symbols match the prelude")
struct RuntimeSymbolTests {
    /// The functions the prelude declares (prototypes ending in `;`, not the `static inline`
    /// helpers it defines).
    static func declaredFunctions() -> Set<String> {
        let prelude = String(cString: kiln_prelude_source())
        // Drop comments, then find `type name(params);` with parameters on one or more lines.
        let code = prelude.replacing(/\/\*[\s\S]*?\*\//, with: "").replacing(/\/\/[^\n]*/, with: "")
        let declaration = /(?m)^\s*(?!static\b|typedef\b|#)[A-Za-z_][\w \*]*?\b([A-Za-z_]\w*)\s*\(([^;{}]*)\)\s*;/
        return Set(code.matches(of: declaration).map { String($0.1) })
    }

    /// The names and addresses the JIT registers with TinyCC.
    static func registered() -> [(name: String, address: UnsafeRawPointer?)] {
        var count = 0
        guard let symbols = kiln_runtime_symbols(&count) else { return [] }
        return UnsafeBufferPointer(start: symbols, count: count).map { (String(cString: $0.name), $0.address) }
    }

    @Test("every function the prelude declares is registered, and every registered symbol is declared")
    func preludeAndSymbolTableAgree() {
        let declared = Self.declaredFunctions(), table = Self.registered()
        let names = Set(table.map(\.name))
        #expect(declared.count >= 50, "the prelude parser found only \(declared.sorted())")
        #expect(declared.subtracting(names).sorted() == [], "declared in kiln_prelude.h but not registered in runtime.c")
        #expect(names.subtracting(declared).sorted() == [], "registered in runtime.c but not declared in kiln_prelude.h")
        #expect(table.count == names.count, "a symbol is registered twice")
        #expect(table.allSatisfy { $0.address != nil }, "a registered symbol has no address")
    }

    @Test("the parser sees prototypes over several lines and skips inline helpers and macros")
    func parserFindsWhatItShould() {
        let declared = Self.declaredFunctions()
        #expect(declared.isSuperset(of: ["kiln_exp", "memcpy", "cblas_sgemm", "kiln_gemm", "kiln_vec_select", "kiln_softmax"]))
        #expect(declared.isDisjoint(with: ["kiln_relu", "kiln_random_uniform", "kiln_mix32", "KILN_BLOCK"]))
    }
}
