import KilnSamples
import Kiln
import Testing

@Suite("Backends")
struct BackendTests {
    @Test func bothBackendsRunTheSameProgramAPI() throws {
        let sample = try SampleGraphs.sample(named: "mlp-train-sgd")
        var generator = SeededGenerator(seed: 3)
        let feeds = try sample.makeFeeds(batch: 5, using: &generator)
        var losses: [Float] = []
        for backend in Backend.allCases {
            let program = try backend.compile(sample.graph, outputs: sample.outputs)
            let loss = try #require(try program.run(feeds: feeds)["loss"]).scalars[0]
            losses.append(loss)
            #expect(try program.variable("dense/kernel").shape == [2, 16])
        }
        #expect(Swift.abs(losses[0] - losses[1]) < 1e-5)
    }

    @Test func backendNamesAreChecked() throws {
        #expect(try Backend(named: "JIT") == .jit)
        #expect(throws: KilnError.self) { try Backend(named: "gpu") }
    }

    @Test func debugSwitchesAreReadFromTheEnvironment() {
        let switches = DebugSwitches { name in
            ["KILN_BACKEND": "Interpreter", "KILN_DEBUG": "3", "KILN_DUMP_C": "/tmp/c", "KILN_VALIDATE": "1"][name]
        }
        #expect(switches.backend == "interpreter")
        #expect(switches.level == 3)
        #expect(switches.dumpDirectory == "/tmp/c")
        #expect(switches.validate)
        let none = DebugSwitches { _ in nil }
        #expect(none.level == 0 && none.backend == nil && none.dumpDirectory == nil && !none.validate)
    }
}
