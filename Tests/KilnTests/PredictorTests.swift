import Kiln
import Testing

/// ``Predictor``: a model's prediction into memory the caller owns, with what does not
/// change between calls worked out once. It gives `predict`'s bits on both backends, sees
/// weights changed in place, and rejects what `predict` rejects with the same errors.
@Suite("Predictors")
struct PredictorTests {
    let x = try! Tensor(shape: [6, 4], scalars: (0..<24).map { Float($0 * 7 % 11) / 11 - 0.4 })

    @Test("a predictor gives predict's values, one sample or three a call", arguments: Backend.allCases)
    func matchesPredict(_ backend: Backend) throws {
        let model = smallClassifier(backend: backend)
        let expected = try model.predict(x).scalars
        let one = try model.predictor()
        #expect(one.inputShape == [1, 4] && one.outputShape == [1, 3] && one.inputCount == 4 && one.outputCount == 3)
        var y = [Float](repeating: -1, count: 3)
        for row in 0..<6 {
            try one.predict(Array(x.scalars[(row * 4)..<(row * 4 + 4)]), into: &y)
            #expect(y == Array(expected[(row * 3)..<(row * 3 + 3)]), "row \(row)")
        }
        let three = try model.predictor(batchSize: 3)
        #expect(try three.predict(Array(x.scalars[12..<24])) == Array(expected[9..<18]))

        // Weights set in place are read by the next call.
        try model.setWeights(model.getWeights().map { try Tensor(shape: $0.shape, scalars: $0.scalars.map { $0 * 0.5 }) })
        #expect(try three.predict(Array(x.scalars[12..<24])) == Array(try model.predict(x).scalars[9..<18]))
    }

    @Test("a convolutional network's predictor matches predict", arguments: Backend.allCases)
    func convolutional(_ backend: Backend) throws {
        Kiln.setRandomSeed(3)
        let model = Sequential([Input(shape: [8, 8, 1]), Conv2D(4, kernelSize: [3, 3], activation: .relu), MaxPooling2D(poolSize: [2, 2]),
                                Flatten(), Dense(3, activation: .softmax)])
        model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy, backend: backend)
        let images = try Tensor(shape: [2, 8, 8, 1], scalars: (0..<128).map { Float($0 % 13) / 13 })
        let expected = try model.predict(images).scalars
        let predictor = try model.predictor(batchSize: 2)
        #expect(try predictor.predict(images.scalars) == expected)
    }

    @Test func badInput() throws {
        let model = smallClassifier()
        let predictor = try model.predictor()
        var y = [Float](repeating: 0, count: 3)
        expectError("takes 4 floats", "[1, 4]", "got 5") { try predictor.predict([Float](repeating: 0, count: 5), into: &y) }
        var short = [Float](repeating: 0, count: 2)
        expectError("writes 3 floats", "[1, 3]", "room for 2") { try predictor.predict([0, 0, 0, 0], into: &short) }
        expectError("x", "nan", "row 0", "column 2", "checksFiniteInputs") { try predictor.predict([0, 0, .nan, 0], into: &y) }
        let three = try model.predictor(batchSize: 3)
        expectError("inf", "row 2", "column 2") {
            _ = try three.predict([Float](repeating: 0, count: 9) + [0, .infinity, 0])
        }
        model.checksFiniteInputs = false
        #expect(try model.predictor().predict([0, 0, .nan, 0]).contains { $0.isNaN })
        expectError("batchSize", "at least 1", "0") { _ = try model.predictor(batchSize: 0) }

        let unbuilt = Sequential([Dense(2)])
        expectError("no input shape yet") { _ = try unbuilt.predictor() }
        let tokens = Sequential([Input(shape: [5], dtype: .int32), Embedding(inputDim: 10, outputDim: 4), Flatten(), Dense(1)])
        expectError("f32", "i32", "use predict") { _ = try tokens.predictor() }
        let a = Input(shape: [2], name: "a"), b = Input(shape: [2], name: "b")
        let twoInputs = Model(inputs: [a, b], outputs: Add()([Dense(2)(a), Dense(2)(b)]))
        expectError("2 inputs", "predictAll") { _ = try twoInputs.predictor() }
    }
}
