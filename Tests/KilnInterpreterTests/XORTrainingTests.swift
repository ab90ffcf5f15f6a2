import Testing
import KilnGraph
import KilnInterpreter

@Suite("Training: XOR")
struct XORTrainingTests {
    @Test func twoLayerMLPLearnsXORWithGradientDescent() throws {
        let seed: UInt64 = 7
        var generator = SeededGenerator(seed: seed)
        let g = Graph()
        let x = try g.placeholder("x", shape: [.batch, 2])
        let y = try g.placeholder("y", shape: [.batch, 1])
        let w1 = try g.variable("w1", initialValue: .randomUniform(shape: [2, 8], lower: -1, upper: 1, using: &generator))
        let b1 = try g.variable("b1", initialValue: .zeros(shape: [8]))
        let w2 = try g.variable("w2", initialValue: .randomUniform(shape: [8, 1], lower: -1, upper: 1, using: &generator))
        let b2 = try g.variable("b2", initialValue: .zeros(shape: [1]))

        let hidden = try tanh(matmul(x, w1) + b1)
        let logits = try matmul(hidden, w2) + b2
        // Binary crossentropy from logits, stable for any z: softplus(z) - y z.
        let loss = try mean(softplus(logits) - y * logits)
        let parameters = [w1, b1, w2, b2]
        let gradients = try g.gradients(of: loss, wrt: parameters)
        for (parameter, gradient) in zip(parameters, gradients) {
            _ = try g.assign(parameter, parameter - 0.5 * gradient)
        }
        let step = try InterpreterProgram(graph: g, outputs: ["loss": loss, "p": sigmoid(logits)])

        let inputs = try Tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
        let targets = try Tensor([[0], [1], [1], [0]])
        var first: Float = 0, last: Float = .infinity
        var probabilities: [Float] = []
        for epoch in 0..<1500 {
            let result = try step.run(feeds: ["x": inputs, "y": targets])
            last = try #require(result["loss"]).scalars[0]
            probabilities = try #require(result["p"]).scalars
            if epoch == 0 { first = last }
        }
        #expect(first > 0.6, "seed \(seed): initial loss \(first)")
        #expect(last < 0.05, "seed \(seed): final loss \(last)")
        #expect(probabilities.map { $0 > 0.5 } == [false, true, true, false], "seed \(seed): \(probabilities)")
    }
}
