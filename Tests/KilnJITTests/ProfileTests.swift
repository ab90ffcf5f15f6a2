import KilnCompiler
import KilnGraph
import KilnJIT
import KilnSamples
import Testing

@Suite("Kernel profiles (KILN_PROFILE=1)")
struct ProfileTests {
    static let profiling = DebugSwitches { $0 == "KILN_PROFILE" ? "1" : nil }

    @Test func aProfiledTrainingStepTimesEveryKernelAndCountsCalls() throws {
        let sample = try SampleGraphs.sample(named: "mlp784-train-adam")
        let program = try JITProgram(graph: sample.graph, outputs: sample.outputs, switches: Self.profiling)
        var generator = SeededGenerator(seed: 3)
        let feeds = try sample.makeFeeds(batch: 16, using: &generator)
        _ = try program.run(feeds: feeds)
        program.resetKernelProfile()
        for _ in 0..<5 { _ = try program.run(feeds: feeds) }
        let profile = try #require(program.kernelProfile())
        #expect(profile.calls == 5)
        #expect(profile.kernels.count == program.lowered.unit.kernelCount)
        #expect(profile.kernels.allSatisfy { $0.seconds >= $0.gemmSeconds && $0.gemmSeconds >= 0 })
        // Seven matrix products: three forward, two input gradients, three weight gradients... all timed.
        #expect(profile.seconds(in: .gemm) > 0)
        // Every kernel with a product times it, also where the loop's parts run it chunk by
        // chunk (the second layer's, with its bias and relu).
        #expect(program.lowered.unit.source.contains("kiln_profile_add("))
        let products = profile.kernels.filter { $0.lines.contains { $0.contains(" = matmul ") } }
        #expect(products.count >= 7 && products.allSatisfy { $0.gemmSeconds > 0 }, "\(products.map { ($0.name, $0.gemmSeconds) })")
        #expect(profile.kernels.contains { $0.category == .update })
        #expect(profile.kernels.contains { $0.category == .softmax })
        let byCategory = KernelCategory.allCases.reduce(profile.assignSeconds) { $0 + profile.seconds(in: $1) }
        #expect(abs(byCategory - profile.seconds) <= 1e-9 * Double(profile.kernels.count))
    }

    @Test func anUnprofiledProgramHasNoProfileAndItsCIsUnchanged() throws {
        let sample = try SampleGraphs.sample(named: "mlp-train-sgd")
        let plain = try JITProgram(graph: sample.graph, outputs: sample.outputs, switches: DebugSwitches { _ in nil })
        let profiled = try JITProgram(graph: sample.graph, outputs: sample.outputs, switches: Self.profiling)
        #expect(plain.kernelProfile() == nil)
        #expect(!plain.lowered.unit.source.contains("kiln_clock_ns"))
        #expect(profiled.lowered.unit.source.contains(CRenderer.profileSymbol))
        // Profiling changes no result.
        var generator = SeededGenerator(seed: 4)
        let feeds = try sample.makeFeeds(batch: 8, using: &generator)
        let a = try plain.run(feeds: feeds), b = try profiled.run(feeds: feeds)
        for (name, value) in a { #expect(b[name] == value, "\(name)") }
    }
}
