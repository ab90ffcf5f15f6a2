import ArgumentParser
import Kiln
import KilnSamples

/// `kiln compare MODEL.kiln|SAMPLE`: the interpreter and the JIT on the same inputs.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the interpreter and the JIT on the same inputs and compare every result and variable.",
        discussion: "Both backends start from the same variables and run the same inputs for --steps calls. Each "
            + "call's outputs are compared, and every variable (weights, optimizer state, metric totals) after the "
            + "last. A value passes when |jit - interpreter| <= atol + rtol * |interpreter| for every element. "
            + "Exits with status 1 if any value fails.")

    @OptionGroup var subject: SubjectArgument
    @Option(help: "Feeds from this safetensors file (tensors named after the inputs) instead of random ones.")
    var input: String?
    @Option(help: "Batch size of the random inputs.") var batch = 32
    @Option(help: "Calls (training steps compound their updates).") var steps = 3
    @Option(help: "Seed of the random inputs.") var seed: UInt64 = 1
    @Option(help: "Relative tolerance.") var rtol: Float = 1e-4
    @Option(help: "Absolute tolerance.") var atol: Float = 1e-5

    func validate() throws {
        guard batch >= 0 else { throw ValidationError("--batch must not be negative") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
    }

    func run() throws {
        let loaded = try subject.load()
        let reference = try Backend.interpreter.compile(loaded.graph, outputs: loaded.outputs)
        let jit = try JITProgram(graph: loaded.graph, outputs: loaded.outputs)
        let fixed = try input.map { try loadTensors(from: $0) }
        print("\(loaded.name): \(loaded.summary)")
        print((fixed == nil ? "random inputs, batch \(batch), seed \(seed)" : "inputs from \(input ?? "")")
              + ", \(steps) call(s); tolerance atol \(atol) + rtol \(rtol) * |interpreter|")
        print("value".padding(40) + "max abs error".padding(16) + "max rel error".padding(16) + "result")
        var generator = SeededGenerator(seed: seed)
        var failures = 0
        for step in 1...steps {
            let feeds = try fixed ?? loaded.makeFeeds(batch: batch, using: &generator)
            let expected = try reference.run(feeds: feeds), actual = try jit.run(feeds: feeds)
            for name in expected.keys.sorted() {
                guard let e = expected[name], let a = actual[name] else { continue }
                failures += report("call \(step) output \(name)", a, e) ? 0 : 1
            }
        }
        for name in reference.variables.names {
            failures += report("variable \(name)", try jit.variable(name), try reference.variable(name)) ? 0 : 1
        }
        print(failures == 0 ? "PASS: every value agrees" : "FAIL: \(failures) value(s) differ")
        if failures > 0 { throw ExitCode(1) }
    }

    /// Prints one line, and the worst element when it fails; returns whether it passed.
    private func report(_ label: String, _ actual: Tensor, _ expected: Tensor) -> Bool {
        let comparison = actual.compared(to: expected, rtol: rtol, atol: atol)
        print(label.padding(40) + cFormat("%.2e", comparison.maxAbsoluteError).padding(16)
              + cFormat("%.2e", comparison.maxRelativeError).padding(16) + (comparison.passes ? "PASS" : "FAIL"))
        if !comparison.passes { print("    \(comparison)") }
        return comparison.passes
    }
}
