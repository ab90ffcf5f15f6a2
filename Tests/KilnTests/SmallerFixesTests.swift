import Kiln
import Testing

/// Mistakes Keras catches early, and a loss Keras accepts.
@Suite("Names, custom losses and metric shapes")
struct SmallerFixesTests {
    let x = try! Tensor(shape: [6, 4], scalars: (0..<24).map { Float($0) / 24 })
    let labels = try! Tensor(shape: [6], scalars: [Float(0), 1, 2, 0, 1, 2])

    @Test("two layers with the same name are found when the model is made, and named as Keras does")
    func duplicateLayerNames() throws {
        let sequential = Sequential([Input(shape: [4]), Dense(3, name: "same"), Dense(2, name: "same")])
        expectError("\"same\" is used 2 times", "unique") { _ = try sequential.predict(x) }
        #expect(sequential.summaryText().contains("is used 2 times"))
        let unbuilt = Sequential([Dense(3, name: "twice"), Dense(3, name: "twice")])
        unbuilt.compile(optimizer: SGD(), loss: .meanSquaredError)
        expectError("\"twice\" is used 2 times") { try unbuilt.fit(x, Tensor(shape: [6, 3], repeating: Float(0)), verbose: 0) }
        let input = Input(shape: [4])
        let left = Dense(3, name: "branch")(input), right = Dense(3, name: "branch")(input)
        let functional = Model(inputs: input, outputs: Add()([left, right]))
        expectError("\"branch\" is used 2 times") { _ = try functional.predict(x) }
        // One layer called twice is sharing, not a clash.
        let shared = Dense(4, name: "shared")
        let twice = Model(inputs: input, outputs: shared(shared(input)))
        #expect(try twice.predict(x).shape == [6, 4])
    }

    @Test("inputs with the same name are a clash too")
    func duplicateInputNames() throws {
        let a = Input(shape: [2], name: "in"), b = Input(shape: [2], name: "in")
        let model = Model(inputs: [a, b], outputs: Add()([Dense(2)(a), Dense(2)(b)]))
        expectError("\"in\" is used 2 times") { _ = try model.predict(Tensor(shape: [1, 2], repeating: Float(0))) }
    }

    @Test("a custom loss returning one scalar for the batch is accepted, as Keras does", arguments: Backend.allCases)
    func scalarCustomLoss(_ backend: Backend) throws {
        let loss = Loss.custom(name: "mean_error") { yTrue, yPred in try mean(square(yPred - yTrue)) }
        let model = Sequential([Input(shape: [4]), Dense(1)])
        model.compile(optimizer: SGD(learningRate: 0.1), loss: loss, backend: backend)
        let y = try Tensor(shape: [6, 1], scalars: [1, 0, 1, 0, 1, 0])
        let before = try model.evaluate(x, y, verbose: 0)["loss"]!
        let expected = try zip(model.predict(x).scalars, y.scalars).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 6
        #expect(Swift.abs(before - expected) < 1e-6)
        try model.fit(x, y, batchSize: 6, epochs: 20, verbose: 0)
        #expect(try model.evaluate(x, y, verbose: 0)["loss"]! < before)
    }

    @Test("precision on class indices and a 3-class output is a user-level error naming the metric and shapes")
    func precisionWithClassIndices() throws {
        let model = smallClassifier()
        model.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy, metrics: [.precision])
        expectError("metric precision", "(None, 3)", "class indices", "one-hot") { try model.fit(x, labels, verbose: 0) }
        let recall = smallClassifier()
        recall.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy, metrics: [.recall])
        expectError("metric recall") { _ = try recall.evaluate(x, labels, verbose: 0) }
        // With one-hot targets both work.
        let oneHotModel = smallClassifier()
        oneHotModel.compile(optimizer: SGD(), loss: .categoricalCrossentropy, metrics: [.precision, .recall])
        let logs = try oneHotModel.evaluate(x, oneHot(labels, classes: 3), verbose: 0)
        #expect(logs["precision"] != nil && logs["recall"] != nil)
    }
}
