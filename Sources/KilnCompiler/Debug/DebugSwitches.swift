import Glibc

/// The debug switches of the environment, read once, here and nowhere else.
///
/// | variable | effect |
/// | --- | --- |
/// | `KILN_BACKEND=interpreter\|jit` | the default backend |
/// | `KILN_DEBUG=1..4` | 1 compile timings, 2 final graph, 3 graph after each pass, 4 generated C |
/// | `KILN_DUMP_C=DIR` | write every generated translation unit to DIR |
/// | `KILN_VALIDATE=1` | also run every JIT program on the interpreter and throw on mismatch |
/// | `KILN_PROFILE=1` | time every kernel of every JIT program (see `JITProgram.kernelProfile()`) |
///
/// (`KILN_GEMM`, which chooses the GEMM library, is read by the C runtime: Kernels/blas.c.)
public struct DebugSwitches: Sendable {
    /// `KILN_BACKEND`, lowercased, if set.
    public var backend: String?
    /// `KILN_DEBUG`, 0 when unset.
    public var level: Int
    /// `KILN_DUMP_C`, if set.
    public var dumpDirectory: String?
    /// `KILN_VALIDATE=1`.
    public var validate: Bool
    /// `KILN_PROFILE=1`: generated code times each kernel.
    public var profile: Bool

    /// The switches of this process's environment.
    public static let current = DebugSwitches(environment: { name in getenv(name).map { String(cString: $0) } })

    /// Switches read through `environment`, which returns a variable's value or `nil`.
    public init(environment: (String) -> String?) {
        backend = environment("KILN_BACKEND").map { $0.lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
        level = environment("KILN_DEBUG").flatMap { Int($0) } ?? 0
        dumpDirectory = environment("KILN_DUMP_C").flatMap { $0.isEmpty ? nil : $0 }
        validate = environment("KILN_VALIDATE") == "1"
        profile = environment("KILN_PROFILE") == "1"
    }

    /// Writes `message` to standard error when the debug level is at least `level`.
    public func log(_ level: Int, _ message: @autoclosure () -> String) {
        guard self.level >= level else { return }
        var text = message()
        if !text.hasSuffix("\n") { text += "\n" }
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
}
