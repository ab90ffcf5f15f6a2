import ArgumentParser
import Kiln

/// `kiln compare <graph>`: the interpreter and the JIT on the same seeded inputs.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the interpreter and the JIT on the same seeded inputs and compare every result.",
        discussion: "Each training step's outputs (loss, gradients named grad:...) are compared after every step, "
            + "and the variables after the last one. A value passes when |jit - interpreter| <= atol + rtol * |interpreter|.")

    @OptionGroup var graph: GraphArgument
    @Option(help: "Batch size.") var batch = 32
    @Option(help: "Runs (training steps compound their updates).") var steps = 3
    @Option(help: "Seed of the inputs.") var seed: UInt64 = 1
    @Option(help: "Relative tolerance.") var rtol: Float = 1e-4
    @Option(help: "Absolute tolerance.") var atol: Float = 1e-5

    func run() throws {
        let sample = try graph.load()
        let reference = try Backend.interpreter.compile(sample.graph, outputs: sample.outputs)
        let jit = try JITProgram(graph: sample.graph, outputs: sample.outputs)
        print("\(sample.name): \(sample.summary)")
        print("batch \(batch), \(steps) step(s), seed \(seed), tolerance atol \(atol) + rtol \(rtol) * |expected|")
        print("\("value".padding(34))\("max abs error".padding(16))\("max rel error".padding(16))result")
        var generator = SeededGenerator(seed: seed)
        var failures = 0
        for step in 1...steps {
            let feeds = try sample.makeFeeds(batch: batch, using: &generator)
            let expected = try reference.run(feeds: feeds), actual = try jit.run(feeds: feeds)
            for name in expected.keys.sorted() {
                guard let e = expected[name], let a = actual[name] else { continue }
                failures += report("step \(step) \(name)", a, e) ? 0 : 1
            }
        }
        for name in reference.variables.names {
            failures += report("variable \(name)", try jit.variable(name), try reference.variable(name)) ? 0 : 1
        }
        print(failures == 0 ? "PASS: every value agrees" : "FAIL: \(failures) value(s) differ")
        if failures > 0 { throw ExitCode(1) }
    }

    /// Prints one line; returns whether it passed.
    private func report(_ label: String, _ actual: Tensor, _ expected: Tensor) -> Bool {
        var maxAbs: Float = 0, maxRel: Float = 0, pass = actual.type == expected.type
        for (a, e) in zip(actual.scalars, expected.scalars) {
            if a.isNaN && e.isNaN || a == e { continue }
            let error = Swift.abs(a - e)
            maxAbs = Swift.max(maxAbs, error.isNaN ? .infinity : error)
            if e != 0 { maxRel = Swift.max(maxRel, error / Swift.abs(e)) }
            if !(error <= atol + rtol * Swift.abs(e)) { pass = false }
        }
        print("\(label.padding(34))\(scientific(maxAbs).padding(16))\(scientific(maxRel).padding(16))\(pass ? "PASS" : "FAIL")")
        return pass
    }
}

/// `1.23e-06`.
func scientific(_ x: Float) -> String {
    if x == 0 { return "0" }
    var exponent = 0
    var mantissa = Double(x)
    while Swift.abs(mantissa) >= 10 { mantissa /= 10; exponent += 1 }
    while Swift.abs(mantissa) < 1 { mantissa *= 10; exponent -= 1 }
    let rounded = (mantissa * 100).rounded() / 100
    return "\(rounded)e\(exponent < 0 ? "-" : "+")\(Swift.abs(exponent) < 10 ? "0" : "")\(Swift.abs(exponent))"
}
