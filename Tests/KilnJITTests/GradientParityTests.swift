import KilnGraph
import Testing

/// Differentiable cases: the gradient graph of `sum(out * weights)` must agree on both backends.
private let gradientCases: [ParityCase] = (elementwiseParityCases + structuralParityCases + scanParityCases).filter { c in
    c.inputs.contains { if case .float = $0 { true } else { false } }
        && !["argmax", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "one_hot",
             "assign", "variable", "element_count", "floor", "sign", "cast"].contains(c.op)
}

@Suite("JIT parity: gradient graphs")
struct GradientParityTests {
    @Test("gradients of each differentiable case", arguments: gradientCases)
    func gradients(_ c: ParityCase) throws {
        let (graph, inputs, out) = try makeGraph(c.inputs, c.build)
        guard out.type.dtype == .float32 else { return }
        var generator = SeededGenerator(seed: stableSeed(c.testDescription))
        let weights = try Tensor.randomUniform(shape: out.type.shape.resolved(batch: 1).map { Swift.max($0, 1) },
                                               lower: -1, upper: 1, using: &generator)
        let loss: Node
        if out.type.shape.hasBatch {
            loss = try sum(out * out)
        } else {
            loss = try sum(out * graph.constant(weights))
        }
        let wrt = zip(c.inputs, inputs).filter { if case .float = $0.0 { true } else { false } }.map(\.1)
        let grads = try graph.gradients(of: loss, wrt: wrt, unconnected: .zero)
        var outputs = ["loss": loss]
        for (index, g) in grads.enumerated() { outputs["grad\(index)"] = g }
        try expectParity(graph, outputs: outputs, inputs: c.inputs, seed: stableSeed(c.testDescription),
                         rtol: Swift.max(c.rtol, 1e-4), atol: 1e-4, context: "gradient of \(c.testDescription)")
    }

    @Test("sample graphs agree over several steps", arguments: SampleGraphs.names)
    func sample(_ name: String) throws {
        try expectParity(try SampleGraphs.sample(named: name), seed: 7, rtol: 2e-4, atol: 2e-5)
    }

    @Test func smallAdamStepAgrees() throws {
        try expectParity(try SampleGraphs.mlpTrainingStep(sizes: [6, 8, 4], optimizer: .adam), seed: 11, rtol: 1e-4, atol: 1e-5)
    }
}
