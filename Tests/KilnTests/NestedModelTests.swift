import Foundation
import Kiln
import KilnTestSupport
import Testing

@Suite("Models as layers: nested models share their weights, freeze, save and load")
struct NestedModelTests {
    static func features(_ count: Int, width: Int = 4) throws -> Tensor {
        try Tensor(shape: [count, width], scalars: (0..<(count * width)).map { Float(($0 * 7) % 13) / 6 - 1 })
    }

    @Test("a functional model called on a new input computes the same as itself, and trains the same weights",
          arguments: Backend.allCases)
    func functionalNesting(_ backend: Backend) throws {
        let inner = Input(shape: [4])
        let encoder = Model(inputs: inner, outputs: Dense(3, activation: .tanh, name: "code")(Dense(5, activation: .relu)(inner)),
                            name: "encoder")
        let x = Input(shape: [4])
        let classifier = Model(inputs: x, outputs: Dense(2, activation: .softmax, name: "head")(encoder(x)))
        #expect(classifier.layers.map(\.description) == ["encoder (Functional)", "head (Dense)"])
        #expect(classifier.getWeights().count == 6)
        let summary = classifier.summaryText()
        #expect(summary.contains("encoder (Functional)") && summary.contains("(None, 3)") && summary.contains("43"), "\(summary)")
        let xs = try Self.features(10)
        let codes = try encoder.predict(xs)
        let head = try classifier.layer(named: "head")
        expectClose(try classifier.predict(xs), try Self.apply(head, to: codes), rtol: 1e-5, atol: 1e-6, "nested predict")
        // Training the classifier trains the encoder's own weights.
        classifier.compile(optimizer: SGD(learningRate: 0.5), loss: .sparseCategoricalCrossentropy, backend: backend)
        try classifier.fit(xs, Tensor((0..<10).map { Float($0 % 2) }), batchSize: 5, epochs: 2, verbose: 0)
        #expect(try encoder.predict(xs) != codes)
        #expect((try classifier.layer(named: "encoder") as? ModelLayer)?.model === encoder)
    }

    /// `layer` applied to `x` by a one-layer model of its own.
    static func apply(_ layer: Layer, to x: Tensor) throws -> Tensor {
        let input = Input(shape: Array(x.shape.dropFirst()))
        return try Model(inputs: input, outputs: layer(input)).predict(x)
    }

    @Test("a frozen base model in a Sequential keeps its weights while the head trains (transfer learning)")
    func frozenBase() throws {
        let base = Sequential([Input(shape: [4]), Dense(6, activation: .relu), BatchNormalization(), Dense(3)], name: "base")
        let model = Sequential([Input(shape: [4]), base, Dense(1, activation: .sigmoid)])
        base.trainable = false
        #expect(!base.trainable && base.layers.allSatisfy { !$0.trainable })
        let before = base.getWeights()
        model.compile(optimizer: Adam(learningRate: 0.05), loss: .binaryCrossentropy)
        let xs = try Self.features(16)
        let head = model.layers[1].weights
        try model.fit(xs, Tensor((0..<16).map { Float($0 % 2) }), batchSize: 4, epochs: 2, verbose: 0)
        #expect(base.getWeights() == before)
        #expect(model.layers[1].weights != head)
        // Unfrozen, the base trains too.
        base.trainable = true
        model.compile(optimizer: Adam(learningRate: 0.05), loss: .binaryCrossentropy)
        try model.fit(xs, Tensor((0..<16).map { Float($0 % 2) }), batchSize: 4, epochs: 1, verbose: 0)
        #expect(base.getWeights() != before)
    }

    @Test("an ensemble of two models on one input, one of them with two outputs")
    func ensemble() throws {
        let a = Input(shape: [4])
        let first = Model(inputs: a, outputs: Dense(2, name: "first_out")(a), name: "first")
        let b = Input(shape: [4])
        let shared = Dense(2, name: "second_out")
        let second = Model(inputs: b, outputs: [shared(b), Dense(1, name: "second_score")(b)], name: "second")
        let x = Input(shape: [4])
        let parts = second.callAll([x])
        #expect(parts.count == 2 && parts[1].shape == [1])
        let averaged = Add()([first(x), parts[0]])
        let ensemble = Model(inputs: x, outputs: [averaged, parts[1]])
        let xs = try Self.features(6)
        let outputs = try ensemble.predictAll(xs)
        let sum = try first.predict(xs).scalars.enumerated().map { $1 + (try second.predictAll(xs))[0].scalars[$0] }
        expectClose(outputs[0], try Tensor(shape: [6, 2], scalars: sum), rtol: 1e-5, atol: 1e-6, "ensemble sum")
        expectClose(outputs[1], try second.predictAll(xs)[1], rtol: 1e-6, atol: 1e-6, "second output")
    }

    @Test("a model with a nested model saves and loads; the nested model's layers keep their names and weights",
          arguments: [false, true])
    func saveAndLoad(_ sequentialBase: Bool) throws {
        let base: Model
        if sequentialBase {
            base = Sequential([Input(shape: [4]), Dense(5, activation: .relu), Dense(3)], name: "base_seq")
        } else {
            let input = Input(shape: [4])
            base = Model(inputs: input, outputs: Dense(3)(Dense(5, activation: .relu)(input)), name: "base_fn")
        }
        let x = Input(shape: [4])
        let model = Model(inputs: x, outputs: Dense(2)(base(x)))
        base.layers[0].trainable = false
        model.compile(optimizer: Adam(), loss: .meanSquaredError)
        let xs = try Self.features(8)
        try model.fit(xs, try Self.features(8, width: 2), batchSize: 4, epochs: 1, verbose: 0)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID().uuidString).kiln").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let loaded = try Model.load(from: path)
        #expect(try loaded.predict(xs) == (try model.predict(xs)))
        let nested = try #require(try loaded.layer(named: base.name) as? ModelLayer)
        #expect(nested.model.typeName == base.typeName)
        #expect(nested.model.layers.map(\.name) == base.layers.map(\.name))
        #expect(nested.model.layers.map(\.trainable) == [false, true])
        #expect(try loaded.trainOnBatch(xs, try Self.features(8, width: 2)) == (try model.trainOnBatch(xs, try Self.features(8, width: 2))))
    }

    @Test("a nested model called on the wrong shape, or with a layer name the outer model also uses, is an error")
    func badNesting() throws {
        let input = Input(shape: [4])
        let inner = Model(inputs: input, outputs: Dense(3, name: "clash")(input), name: "inner")
        let wrong = Input(shape: [5])
        let outer = Model(inputs: wrong, outputs: inner(wrong))
        expectError("model \"inner\" takes inputs (None, 4), called on (None, 5)") { _ = try outer.predict(Self.features(2, width: 5)) }
        let x = Input(shape: [4])
        let clashing = Model(inputs: x, outputs: Dense(2, name: "clash")(inner(x)))
        expectError("the name \"clash\" is used 2 times") { _ = try clashing.predict(Self.features(2)) }
    }
}
