import Foundation
import Kiln
import Testing

@Suite("layer.output, layer.input and Sequential.pop")
struct LayerOutputTests {
    @Test("a model of an intermediate layer's output gives that layer's activations")
    func featureExtraction() throws {
        let inp = Input(shape: [3])
        let hidden = Dense(4, activation: .relu)
        let top = Dense(2, activation: .softmax)
        let model = Model(inputs: inp, outputs: top(hidden(inp)))
        #expect(try hidden.input === inp)
        #expect(try top.input === hidden.output)
        let features = Model(inputs: model.inputs, outputs: try hidden.output)
        let x = try Tensor(shape: [2, 3], scalars: [1, -1, 0.5, 0, 2, -3])
        let kernel = hidden.weights[0].scalars, bias = hidden.weights[1].scalars
        var expected: [Float] = []
        for row in 0..<2 {
            for j in 0..<4 {
                var sum = bias[j]
                for i in 0..<3 { sum += x.scalars[row * 3 + i] * kernel[i * 4 + j] }
                expected.append(Swift.max(0, sum))
            }
        }
        #expect(zip(try features.predict(x).scalars, expected).allSatisfy { Swift.abs($0 - $1) < 1e-5 })
        #expect(LSTM(2, returnState: true).callAll(Input(shape: [4, 3])).count == 3)
    }

    @Test("a layer never called, or called twice, has no single output: an error saying why")
    func noSingleOutput() throws {
        #expect(throws: KilnError.self) { _ = try Dense(3).output }
        let shared = Dense(2)
        let a = Input(shape: [2]), b = Input(shape: [2])
        let model = Model(inputs: [a, b], outputs: Add()([shared(a), shared(b)]))
        do {
            _ = try shared.output
            Issue.record("a shared layer had one output")
        } catch let error as KilnError {
            #expect(error.message.contains("called 2 times"))
        }
        _ = model
    }

    @Test("pop removes the last layer; the model is rebuilt without it")
    func pop() throws {
        let last = Dense(1)
        let model = Sequential([Input(shape: [3]), Dense(4), last])
        #expect(try model.predict(Tensor(shape: [2, 3], repeating: Float(1))).shape == [2, 1])
        #expect(try model.pop() === last)
        #expect(model.layers.count == 1)
        #expect(try model.predict(Tensor(shape: [2, 3], repeating: Float(1))).shape == [2, 4])
        #expect(try model.layers[0].output.shape == [4])
        #expect(throws: KilnError.self) { _ = try last.output }
        try model.pop()
        #expect(throws: KilnError.self) { try model.pop() }
    }
}
