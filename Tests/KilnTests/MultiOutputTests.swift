import Foundation
import Kiln
import KilnTestSupport
import Testing

/// A case of Fixtures/keras_multi_output_parity.json (tools/make_keras_fixtures.py).
struct KerasMultiOutputCase: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let optimizer: String
    let weighting: String
    let batch_size: Int
    let epochs: Int
    let a: [Float], b: [Float], score: [Float], label: [Float]
    let score_weight: [Float], label_weight: [Float]
    let initial_weights: [KerasFixture.Weight]
    let step_logs: [String: [Float]]
    let final_weights: [KerasFixture.Weight]

    var testDescription: String { name }

    static let all = KerasFixture.cases("keras_multi_output_parity.json", as: KerasMultiOutputCase.self)

    /// The fixture's network, as the script builds it: inputs `a` [4] and `b` [3], outputs
    /// `score` (regression) and `label` (3 classes).
    static func network() -> Model {
        let a = Input(shape: [4], name: "a"), b = Input(shape: [3], name: "b")
        let h = Dense(6, activation: .relu, name: "shared")(Concatenate(name: "joined")([a, b]))
        let g = Dense(4, activation: .tanh, name: "side")(b)
        let score = Dense(1, name: "score")(h)
        let label = Dense(3, activation: .softmax, name: "label")(Concatenate(name: "both")([h, g]))
        return Model(inputs: [a, b], outputs: [score, label])
    }

    /// Keras' weights in its layer order (shared, side, score, label), by layer.
    static let kerasLayerOrder = ["shared", "side", "score", "label"]
}

@Suite("Models with several outputs: a loss per output, loss weights, Keras' log keys")
struct MultiOutputTests {
    @Test("per-step losses, per-output losses and accuracy, and final weights match Keras 3",
          arguments: KerasMultiOutputCase.all, Backend.allCases)
    func matchesKeras(_ c: KerasMultiOutputCase, _ backend: Backend) throws {
        let model = KerasMultiOutputCase.network()
        let optimizer = KerasFixture.optimizer(c.optimizer)
        if c.weighting == "by name" {
            model.compile(optimizer: optimizer, loss: ["score": .meanSquaredError, "label": .sparseCategoricalCrossentropy],
                          lossWeights: ["score": 1, "label": 0.3], metrics: ["label": [.accuracy]], backend: backend)
        } else {
            model.compile(optimizer: optimizer, loss: [.meanSquaredError, .sparseCategoricalCrossentropy], lossWeights: [0.5, 2],
                          metrics: [[], [.accuracy]], backend: backend)
        }
        func setWeights(_ weights: [KerasFixture.Weight]) throws {
            for (index, name) in KerasMultiOutputCase.kerasLayerOrder.enumerated() {
                try model.layer(named: name).setWeights([try weights[2 * index].tensor, try weights[2 * index + 1].tensor])
            }
        }
        try setWeights(c.initial_weights)
        let count = c.score.count
        let a = try Tensor(shape: [count, 4], scalars: c.a), b = try Tensor(shape: [count, 3], scalars: c.b)
        let score = try Tensor(shape: [count, 1], scalars: c.score), label = try Tensor(shape: [count], scalars: c.label)
        let weights = [try Tensor(shape: [count], scalars: c.score_weight), try Tensor(shape: [count], scalars: c.label_weight)]
        var logs: [String: [Float]] = [:]
        for _ in 0..<c.epochs {
            for start in stride(from: 0, to: count, by: c.batch_size) {
                let rows = start..<Swift.min(start + c.batch_size, count)
                let result = try model.trainOnBatch(["a": a.rows(rows), "b": b.rows(rows)], [score.rows(rows), label.rows(rows)],
                                                    sampleWeight: c.weighting == "by name" ? nil : try weights.map { try $0.rows(rows) })
                for (key, value) in result { logs[key, default: []].append(value) }
            }
        }
        #expect(Set(logs.keys) == Set(c.step_logs.keys), "log keys \(logs.keys.sorted()) against Keras' \(c.step_logs.keys.sorted())")
        var worstLog: Float = 0, worstWeight: Float = 0
        for (key, expected) in c.step_logs {
            let compared = Tensor(logs[key] ?? []).compared(to: Tensor(expected), rtol: KerasFixture.rtol, atol: KerasFixture.atol)
            #expect(compared.passes, "\(key) per step against Keras': \(compared)")
            worstLog = max(worstLog, compared.maxRelativeError)
        }
        for (index, name) in KerasMultiOutputCase.kerasLayerOrder.enumerated() {
            let ours = try model.layer(named: name).weights
            for part in 0..<2 {
                let expected = try c.final_weights[2 * index + part].tensor
                expectClose(ours[part], expected, rtol: KerasFixture.rtol, atol: KerasFixture.atol, "\(name) weight \(part) against Keras'")
                worstWeight = max(worstWeight, ours[part].compared(to: expected, rtol: KerasFixture.rtol, atol: KerasFixture.atol).maxRelativeError)
            }
        }
        print("Keras multi-output parity (\(c.name), \(backend)): worst relative error \(worstLog) in the logs, "
              + "\(worstWeight) in the final weights")
    }

    static func data(_ count: Int) throws -> (a: Tensor, b: Tensor, score: Tensor, label: Tensor) {
        let a = try Tensor(shape: [count, 4], scalars: (0..<(count * 4)).map { Float(($0 * 7) % 11) / 5 - 1 })
        let b = try Tensor(shape: [count, 3], scalars: (0..<(count * 3)).map { Float(($0 * 5) % 13) / 6 - 1 })
        let score = try Tensor(shape: [count, 1], scalars: (0..<count).map { Float($0 % 5) / 4 })
        let label = try Tensor(shape: [count], scalars: (0..<count).map { Float($0 % 3) })
        return (a, b, score, label)
    }

    @Test("fit, evaluate and predictAll with targets by name or in order; History and validation use Keras' keys")
    func fitAndEvaluate() throws {
        let (a, b, score, label) = try Self.data(40)
        let model = KerasMultiOutputCase.network()
        #expect(model.outputNames == ["score", "label"])
        model.compile(optimizer: Adam(learningRate: 0.01), loss: [.meanSquaredError, .sparseCategoricalCrossentropy],
                      lossWeights: [1, 0.5], metrics: [[.meanAbsoluteError], [.accuracy]])
        let history = try model.fit([a, b], ["score": score, "label": label], batchSize: 8, epochs: 3,
                                    validationData: (x: [a, b], y: [score, label]), verbose: 0)
        #expect(Set(history.history.keys) == ["loss", "score_loss", "label_loss", "score_mean_absolute_error", "label_accuracy",
                                               "val_loss", "val_score_loss", "val_label_loss", "val_score_mean_absolute_error",
                                               "val_label_accuracy"])
        let losses = try #require(history.history["loss"])
        #expect(losses.last! < losses.first!)
        let results = try model.evaluate([a, b], [score, label], batchSize: 16, verbose: 0)
        // The total is the weighted sum of the outputs' own losses (no regularization here).
        let total = try #require(results["score_loss"]) + 0.5 * (try #require(results["label_loss"]))
        #expect(abs(try #require(results["loss"]) - total) < 1e-5 * max(1, total))
        let outputs = try model.predictAll(["a": a, "b": b], batchSize: 16)
        #expect(outputs.map(\.shape) == [[40, 1], [40, 3]])
        // Batches give the same predictions as the whole set at once, on both backends.
        let whole = try model.predictAll([a, b], batchSize: 40)
        for (x, y) in zip(outputs, whole) { expectClose(x, y, rtol: 1e-6, atol: 1e-6, "batched predictAll") }
        // The per-output losses of evaluate agree with losses computed from predictAll.
        let predicted = whole[0].scalars
        let mse = zip(predicted, score.scalars).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 40
        #expect(abs(try #require(results["score_loss"]) - mse) < 1e-4 * max(1, mse))
    }

    @Test("one loss serves every output; a flat metric list gives one metric per output, as in Keras")
    func oneLossForAll() throws {
        let x = Input(shape: [3])
        let h = Dense(4, activation: .relu)(x)
        let model = Model(inputs: x, outputs: [Dense(2, name: "first")(h), Dense(2, name: "second")(h)])
        model.compile(optimizer: SGD(learningRate: 0.05), loss: .meanSquaredError, metrics: [.meanAbsoluteError, .meanSquaredError])
        let xs = try Tensor(shape: [12, 3], scalars: (0..<36).map { Float($0 % 7) / 7 })
        let y = try Tensor(shape: [12, 2], scalars: (0..<24).map { Float($0 % 5) / 5 })
        let logs = try model.trainOnBatch(xs, [y, y])
        #expect(Set(logs.keys) == ["loss", "first_loss", "second_loss", "first_mean_absolute_error", "second_mean_squared_error"])
        let sum = try #require(logs["first_loss"]) + (try #require(logs["second_loss"]))
        #expect(abs(try #require(logs["loss"]) - sum) < 1e-5)
        // The same sample weights for every output, or one array per output.
        let w = Tensor((0..<12).map { Float($0 % 2) })
        let one = try model.testOnBatch(xs, [y, y], sampleWeight: w)
        let each = try model.testOnBatch(xs, [y, y], sampleWeight: [w, w])
        #expect(one == each)
        // A single output's predict: predict names predictAll for several.
        expectError("has 2 outputs (first, second): use predictAll") { _ = try model.predict(xs) }
    }

    @Test("missing, extra and miscounted targets, losses, weights and metrics are errors naming the outputs")
    func badTargets() throws {
        let (a, b, score, label) = try Self.data(8)
        let model = KerasMultiOutputCase.network()
        model.compile(optimizer: SGD(), loss: ["score": .meanSquaredError, "label": .sparseCategoricalCrossentropy])
        expectError("has 2 outputs (score, label), got one array") { try model.fit([a, b], score, verbose: 0) }
        expectError("has 2 outputs (score, label), got 3 arrays") { try model.fit([a, b], [score, label, label], verbose: 0) }
        expectError("no array for output \"label\"") { try model.fit([a, b], ["score": score], verbose: 0) }
        expectError("has no output \"extra\"") { try model.fit([a, b], ["score": score, "label": label, "extra": label], verbose: 0) }
        expectError("y for output \"label\" at row 0 is 0.5") {
            try model.fit([a, b], [score, Tensor(shape: [8], repeating: Float(0.5))], verbose: 0)
        }
        expectError("classWeight is only supported for models with one output") {
            try model.fit([a, b], [score, label], classWeight: [0: 1, 1: 1, 2: 1], verbose: 0)
        }
        expectError("sampleWeight for output \"label\" has shape [3]") {
            try model.fit([a, b], [score, label], sampleWeight: [Tensor(shape: [8], repeating: Float(1)),
                                                                 Tensor(shape: [3], repeating: Float(1))], verbose: 0)
        }
        model.compile(optimizer: SGD(), loss: ["score": .meanSquaredError])
        expectError("no losses for output \"label\"; every output needs one") { try model.fit([a, b], [score, label], verbose: 0) }
        model.compile(optimizer: SGD(), loss: ["score": .meanSquaredError, "label": .meanSquaredError, "other": .meanSquaredError])
        expectError("has no output \"other\" for losses") { try model.fit([a, b], [score, label], verbose: 0) }
        model.compile(optimizer: SGD(), loss: [.meanSquaredError])
        expectError("has 2 outputs (score, label), got 1 losses") { try model.fit([a, b], [score, label], verbose: 0) }
        model.compile(optimizer: SGD(), loss: .meanSquaredError, lossWeights: [1, 2, 3])
        expectError("got 3 loss weights") { _ = try model.evaluate([a, b], [score, label], verbose: 0) }
        model.compile(optimizer: SGD(), loss: .meanSquaredError, metrics: [.accuracy])
        expectError("give metrics as one list per output") { _ = try model.evaluate([a, b], [score, label], verbose: 0) }
        model.compile(optimizer: SGD(), loss: ["score": .meanSquaredError, "label": .sparseCategoricalCrossentropy],
                      metrics: ["lable": [.accuracy]])
        expectError("has no output \"lable\" for metric lists") { _ = try model.evaluate([a, b], [score, label], verbose: 0) }
    }

    @Test("a model with several outputs saves and loads with its outputs, losses, weights and metrics", arguments: [false, true])
    func saveAndLoad(_ byName: Bool) throws {
        let (a, b, score, label) = try Self.data(16)
        let model = KerasMultiOutputCase.network()
        if byName {
            model.compile(optimizer: Adam(), loss: ["score": .meanSquaredError, "label": .sparseCategoricalCrossentropy],
                          lossWeights: ["score": 2, "label": 0.25], metrics: ["label": [.accuracy]])
        } else {
            model.compile(optimizer: Adam(), loss: [.meanSquaredError, .sparseCategoricalCrossentropy], lossWeights: [2, 0.25],
                          metrics: [[.meanAbsoluteError], [.accuracy]])
        }
        try model.fit([a, b], [score, label], batchSize: 8, epochs: 2, verbose: 0)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID().uuidString).kiln").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let loaded = try Model.load(from: path)
        #expect(loaded.outputNames == ["score", "label"])
        let before = try model.evaluate([a, b], [score, label], verbose: 0)
        let after = try loaded.evaluate([a, b], [score, label], verbose: 0)
        #expect(before == after)
        for (x, y) in zip(try model.predictAll([a, b]), try loaded.predictAll([a, b])) { #expect(x == y) }
        // Training carries on from the same optimizer state in both.
        let next = try model.trainOnBatch([a, b], [score, label])
        let loadedNext = try loaded.trainOnBatch([a, b], [score, label])
        #expect(next == loadedNext)
    }
}
