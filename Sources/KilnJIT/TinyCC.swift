import CTinyCC
import KilnCompiler
import KilnGraph
import KilnKernels
import Synchronization

/// C compiled in memory by TinyCC; the machine code is freed with this object.
///
/// Compiles are serialised process-wide (libtcc keeps global state), so units can be
/// compiled from several threads at once.
public final class CompiledUnit: @unchecked Sendable {
    /// The entry point's C signature (see Kernels/README.md).
    public typealias Entry = @convention(c) (
        UnsafeMutableRawPointer?, Int64, UnsafePointer<UnsafeRawPointer?>?, UnsafeMutablePointer<Int64>?
    ) -> Int32

    private let state: OpaquePointer
    /// The entry point.
    public let entry: Entry
    /// Seconds TinyCC took.
    public let compileSeconds: Double

    private static let lock = Mutex(())

    /// The directory of TinyCC's runtime library (`libtcc1.a`, package `tcc`).
    static let libraryPath = "/usr/lib/x86_64-linux-gnu/tcc"

    /// Compiles `source` (which includes `kiln_prelude.h`) and looks up `entry`.
    ///
    /// - Throws: ``KilnError`` with TinyCC's messages and the offending lines of `source`
    ///   if it does not compile or link, or if no GEMM library can be loaded.
    public init(source: String, entry name: String) throws {
        if let failure = kiln_blas_load() {
            throw KilnError(.runtime, String(cString: failure))
        }
        let text = Self.inliningPrelude(source)
        let start = Stopwatch.now
        let result: Result<(OpaquePointer, Entry), KilnError> = Self.lock.withLock { _ in
            Self.build(text, entry: name, original: source)
        }
        let (state, entry) = try result.get()
        self.state = state
        self.entry = entry
        compileSeconds = Stopwatch.now - start
    }

    deinit {
        Self.lock.withLock { _ in tcc_delete(state) }
    }

    /// The address of a global the unit defines, or `nil` if it has none of that name.
    public func symbol(named name: String) -> UnsafeMutableRawPointer? {
        Self.lock.withLock { _ in tcc_get_symbol(state, name) }
    }

    private static func build(_ text: String, entry name: String, original: String) -> Result<(OpaquePointer, Entry), KilnError> {
        guard let state = tcc_new() else {
            return .failure(KilnError(.runtime, "TinyCC could not create a compiler state (out of memory?)"))
        }
        let messages = MessageBox()
        let opaque = Unmanaged.passUnretained(messages).toOpaque()
        tcc_set_error_func(state, opaque) { opaque, message in
            guard let opaque, let message else { return }
            Unmanaged<MessageBox>.fromOpaque(opaque).takeUnretainedValue().lines.append(String(cString: message))
        }
        tcc_set_lib_path(state, libraryPath)
        tcc_set_options(state, "-nostdlib")
        tcc_set_output_type(state, TCC_OUTPUT_MEMORY)
        var count = 0
        if let symbols = kiln_runtime_symbols(&count) {
            for symbol in UnsafeBufferPointer(start: symbols, count: count) {
                tcc_add_symbol(state, symbol.name, symbol.address)
            }
        }
        func fail(_ what: String) -> Result<(OpaquePointer, Entry), KilnError> {
            tcc_delete(state)
            return .failure(KilnError(.runtime, what + "\n" + describe(messages.lines, in: original)))
        }
        guard tcc_compile_string(state, text) == 0 else { return fail("the generated C does not compile") }
        guard tcc_relocate(state, UnsafeMutableRawPointer(bitPattern: 1)) >= 0 else {
            return fail("the generated C does not link (is TinyCC's runtime in \(libraryPath)? run tools/bootstrap)")
        }
        guard let symbol = tcc_get_symbol(state, name) else {
            return fail("the generated C has no entry point \(name)")
        }
        return .success((state, unsafeBitCast(symbol, to: Entry.self)))
    }

    /// Replaces the `#include "kiln_prelude.h"` line with the prelude's text, keeping the
    /// line numbers of `source` in TinyCC's messages.
    static func inliningPrelude(_ source: String) -> String {
        let include = "#include \"kiln_prelude.h\"\n"
        guard let range = source.firstRange(of: include) else { return source }
        let line = source[..<range.upperBound].count { $0 == "\n" } + 1
        let prelude = String(cString: kiln_prelude_source())
        return String(source[..<range.lowerBound]) + prelude + "\n#line \(line) \"kiln_unit.c\"\n" + source[range.upperBound...]
    }

    /// TinyCC's messages, each followed by the source line it names (`kiln_unit.c:12: error: ...`).
    static func describe(_ messages: [String], in source: String) -> String {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        var out: [String] = []
        for message in messages {
            out.append("  " + message)
            let parts = message.split(separator: ":")
            if parts.count > 2, parts[0].hasSuffix("kiln_unit.c"), let number = Int(parts[1]), number >= 1, number <= lines.count {
                out.append("    \(number) | \(lines[number - 1])")
            }
        }
        return out.isEmpty ? "  (TinyCC gave no message)" : out.joined(separator: "\n")
    }

    private final class MessageBox {
        var lines: [String] = []
    }
}
