import Foundation
import Kiln
import KilnTestSupport
import Testing

@Suite("None sizes in Input: sequences of any length through the layers that allow them")
struct NoneDimensionTests {
    static func sequences(_ count: Int, length: Int, features: Int = 3) throws -> Tensor {
        try Tensor(shape: [count, length, features], scalars: (0..<(count * length * features)).map { Float(($0 * 7) % 11) / 5 - 1 })
    }

    @Test("an LSTM model on Input(shape: [nil, 3]) trains on one length and predicts on others, as fixed-length models do",
          arguments: Backend.allCases)
    func recurrentAnyLength(_ backend: Backend) throws {
        let input = Input(shape: [nil, 3])
        let lstm = LSTM(4), dense = Dense(1)
        let model = Model(inputs: input, outputs: dense(lstm(input)))
        #expect(input.shape == [Input.none, 3] && model.outputs[0].shape == [1])
        let summary = model.summaryText()
        #expect(summary.contains("(None, None, 3)") || summary.contains("(None, 4)"), "\(summary)")
        model.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError, backend: backend)
        let y = try Tensor(shape: [8, 1], scalars: (0..<8).map { Float($0 % 3) / 2 })
        try model.fit(Self.sequences(8, length: 5), y, batchSize: 4, epochs: 2, verbose: 0)
        for length in [5, 9, 2] {
            let x = try Self.sequences(3, length: length)
            let fixedInput = Input(shape: [length, 3])
            let fixed = Model(inputs: fixedInput, outputs: dense(lstm(fixedInput)))
            fixed.compile(optimizer: SGD(), loss: .meanSquaredError, backend: backend)
            expectClose(try model.predict(x), try fixed.predict(x), rtol: 1e-6, atol: 1e-6, "length \(length)")
        }
        // Batches of changing length from a dataset: a program per length, one set of weights.
        let lengths = [4, 7, 4, 10]
        let dataset = GeneratorDataset(count: lengths.count) { index in
            Batch(x: try Self.sequences(4, length: lengths[index]), y: try y.rows(0..<4))
        }
        let history = try model.fit(dataset, epochs: 2, verbose: 0)
        #expect(history.history["loss"]?.count == 2)
        #expect(try model.evaluate(Self.sequences(8, length: 6), y, verbose: 0)["loss"]!.isFinite)
    }

    @Test("a masked Embedding, pooling and sequence outputs with per-step targets, saved and loaded")
    func embeddingAndSequenceTargets() throws {
        let ids = Input(shape: [nil], dtype: .int32)
        let embedded = Embedding(inputDim: 20, outputDim: 5, maskZero: true)(ids)
        let steps = GRU(4, returnSequences: true)(embedded)
        let perStep = TimeDistributed(Dense(2, activation: .softmax), name: "per_step")(steps)
        let pooled = Dense(1, activation: .sigmoid, name: "whole")(GlobalAveragePooling1D()(steps))
        let model = Model(inputs: ids, outputs: [perStep, pooled])
        #expect(model.outputs.map(\.shape) == [[Input.none, 2], [1]])
        model.compile(optimizer: Adam(), loss: [.sparseCategoricalCrossentropy, .binaryCrossentropy], metrics: [[.accuracy], []])
        for length in [6, 11] {
            let x = try Tensor(shape: [5, length], scalars: (0..<(5 * length)).map { Float(($0 * 3) % 20) })
            let stepTargets = try Tensor(shape: [5, length], scalars: (0..<(5 * length)).map { Float($0 % 2) })
            let logs = try model.trainOnBatch(x, [stepTargets, Tensor(shape: [5, 1], repeating: 1)])
            #expect(logs["loss"]!.isFinite)
            // Accuracy over every step of every sequence, against class indices per step.
            let accuracy = try #require(logs["per_step_accuracy"])
            #expect(accuracy >= 0 && accuracy <= 1)
            let outputs = try model.predictAll(x)
            #expect(outputs.map(\.shape) == [[5, length, 2], [5, 1]])
            // The evaluated accuracy is the share of steps whose most likely class is the target's.
            let predicted = try outputs[0].reshaped(to: [5 * length, 2]).argmaxRows()
            let right = zip(predicted, stepTargets.scalars).filter { $0 == Int($1) }.count
            let tested = try model.testOnBatch(x, [stepTargets, Tensor(shape: [5, 1], repeating: 1)])
            #expect(abs(try #require(tested["per_step_accuracy"]) - Float(right) / Float(5 * length)) < 1e-6)
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID().uuidString).kiln").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let loaded = try Model.load(from: path)
        #expect(loaded.inputs[0].shape == [Input.none])
        let x = try Tensor(shape: [2, 8], scalars: (0..<16).map { Float($0 % 19) })
        #expect(try loaded.predictAll(x) == (try model.predictAll(x)))
    }

    @Test("a layer whose weights would depend on a None size is an error naming it; data of another fixed size too")
    func notAllowed() throws {
        let input = Input(shape: [nil, 3])
        let model = Model(inputs: input, outputs: Dense(2, name: "after_flatten")(Flatten()(input)))
        expectError("after_flatten", "cannot take inputs (None, None) whose None sizes vary") {
            _ = try model.predict(Self.sequences(2, length: 4))
        }
        let fine = Model(inputs: input, outputs: Dense(2)(input))
        expectError("expects samples of shape (None, None, 3), got x of shape [2, 4, 5]") {
            _ = try fine.predict(Self.sequences(2, length: 4, features: 5))
        }
        expectError("has a None size") { _ = try fine.graph(for: .predict) }
    }
}
