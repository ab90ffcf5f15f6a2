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
        // Every kernel with a product times it.
        let products = profile.kernels.filter { $0.lines.contains { $0.contains(" = matmul ") } }
        #expect(products.count >= 7 && products.allSatisfy { $0.gemmSeconds > 0 }, "\(products.map { ($0.name, $0.gemmSeconds) })")
        #expect(profile.kernels.contains { $0.category == .update })
        #expect(profile.kernels.contains { $0.category == .softmax })
        let byCategory = KernelCategory.allCases.reduce(profile.assignSeconds) { $0 + profile.seconds(in: $1) }
        #expect(abs(byCategory - profile.seconds) <= 1e-9 * Double(profile.kernels.count))
    }

    @Test func aProductTheLoopsPartsRunChunkByChunkIsTimedInEveryPart() throws {
        // A layer of at most 64 units with its bias and relu: each part of the loop computes
        // its chunks of the product, then their epilogue, and adds the product's time.
        let graph = Graph()
        var generator = SeededGenerator(seed: 5)
        let x = try graph.placeholder("x", shape: [.batch, 24])
        let w = try graph.constant(try Tensor.randomUniform(shape: [24, 40], lower: -0.5, upper: 0.5, using: &generator))
        let b = try graph.constant(try Tensor.randomUniform(shape: [40], lower: -0.5, upper: 0.5, using: &generator))
        let program = try JITProgram(graph: graph, outputs: ["y": try relu(matmul(x, w) + b)], switches: Self.profiling)
        #expect(program.lowered.unit.source.contains("kiln_profile_add("), "\(program.lowered.unit.source)")
        let feeds = ["x": try Tensor.randomUniform(shape: [4096, 24], lower: -1, upper: 1, using: &generator)]
        for _ in 0..<3 { _ = try program.run(feeds: feeds) }
        let profile = try #require(program.kernelProfile())
        let product = try #require(profile.kernels.first { $0.lines.contains { $0.contains(" = matmul ") } })
        #expect(product.gemmSeconds > 0 && product.seconds >= product.gemmSeconds, "\(product)")
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
