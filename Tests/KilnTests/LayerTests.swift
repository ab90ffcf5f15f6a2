import Foundation
import Kiln
import Testing

/// Serialises tests that seed the library's generator and compare runs: tests run in
/// parallel, and the generator is process-wide.
let seededRuns = NSLock()

/// A model using every layer type: embedding ids and features, merged, normalised, dropped.
func everyLayerModel(seed: UInt64, dropout: Float = 0.3) -> Model {
    Kiln.setRandomSeed(seed)
    let ids = Input(shape: [3], dtype: .int32, name: "ids")
    let embedded = Flatten()(Embedding(inputDim: 10, outputDim: 4)(ids))
    let features = Reshape([6])(Reshape([2, 3])(Dense(6, activation: .gelu)(embedded)))
    let skip = Dense(6, activation: .elu)(embedded)
    let merged = Concatenate()([Add()([features, skip]), Activation(.swish)(skip)])
    let normalised = LayerNormalization()(BatchNormalization()(merged))
    let hidden = Dropout(dropout)(Dense(8, activation: .selu)(normalised))
    let out = Dense(2, activation: .softmax)(Dense(5, activation: .leakyRelu)(hidden))
    return Model(inputs: ids, outputs: out)
}

@Suite("Layers, optimizers and callbacks")
struct LayerTests {
    let ids = try! Tensor(shape: [40, 3], scalars: (0..<120).map { (index: Int) -> Int32 in Int32((index * 7 + index / 3) % 10) })
    var labels: Tensor { try! Tensor(shape: [40], scalars: (0..<40).map { Float(ids.int32Scalars[$0 * 3] % 2) }) }

    @Test("every layer trains identically on both backends (dropout masks, batch statistics), rtol 1e-4")
    func backendsAgree() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        var results: [[Tensor]] = []
        var losses: [[Float]] = []
        for backend in Backend.allCases {
            let model = everyLayerModel(seed: 11)
            model.compile(optimizer: Adam(learningRate: 0.01), loss: .sparseCategoricalCrossentropy,
                          metrics: [.accuracy], backend: backend)
            let history = try model.fit(ids, labels, batchSize: 8, epochs: 3, verbose: 0)
            results.append(model.getWeights())
            losses.append(history.history["loss"]!)
        }
        #expect(results[0].count == results[1].count)
        for (a, b) in zip(losses[0], losses[1]) { #expect(Swift.abs(a - b) <= 1e-4 * Swift.abs(a) + 1e-6) }
        for (u, v) in zip(results[0], results[1]) {
            #expect(zip(u.scalars, v.scalars).allSatisfy { Swift.abs($0 - $1) <= 1e-4 * Swift.abs($1) + 1e-5 })
        }
    }

    @Test("same seed, same backend: bit-for-bit the same run")
    func reproducible() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        var runs: [[Float]] = []
        for _ in 0..<2 {
            let model = everyLayerModel(seed: 3)
            model.compile(optimizer: SGD(momentum: 0.9), loss: .sparseCategoricalCrossentropy)
            try model.fit(ids, labels, batchSize: 8, epochs: 2, verbose: 0)
            runs.append(model.getWeights().flatMap(\.scalars))
        }
        #expect(runs[0] == runs[1])
    }

    @Test func dropoutAndBatchNormalizationBehaveDifferentlyInTraining() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        Kiln.setRandomSeed(1)
        let model = Sequential([Input(shape: [1000]), Dropout(0.25)])
        let ones = try Tensor(shape: [1, 1000], repeating: Float(1))
        #expect(try model.predict(ones).scalars == ones.scalars)
        let bn = BatchNormalization()
        let normalised = Sequential([Input(shape: [2]), bn])
        normalised.compile(optimizer: SGD(learningRate: 0), loss: .meanSquaredError)
        let x = try Tensor([[1, 10], [3, 30]])
        try normalised.trainOnBatch(x, x)
        // moving = 0.99 * initial + 0.01 * batch statistic (variance is the biased one).
        let moving = bn.weights
        #expect(Swift.abs(moving[2].scalars[0] - 0.02) < 1e-6 && Swift.abs(moving[2].scalars[1] - 0.2) < 1e-6)
        #expect(Swift.abs(moving[3].scalars[0] - (0.99 + 0.01)) < 1e-6 && Swift.abs(moving[3].scalars[1] - (0.99 + 1)) < 1e-5)
    }

    @Test("frozen layers keep their weights; the others train")
    func freezing() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        Kiln.setRandomSeed(2)
        let base = Dense(4, activation: .relu)
        let model = Sequential([Input(shape: [3]), base, Dense(1)])
        base.trainable = false
        model.compile(optimizer: SGD(learningRate: 0.1), loss: .meanSquaredError)
        #expect(model.summaryText().contains("Non-trainable params: 16"))
        let before = model.getWeights()
        try model.fit(Tensor(shape: [8, 3], repeating: Float(0.5)), Tensor(shape: [8, 1], repeating: Float(2)), epochs: 2, verbose: 0)
        let after = model.getWeights()
        #expect(after[0].scalars == before[0].scalars && after[1].scalars == before[1].scalars)
        #expect(after[2].scalars != before[2].scalars)
    }

    @Test("one step of each optimizer by hand: w = 1, g = 2 (loss w²... with x = 1, y = 0)")
    func optimizerRules() throws {
        // Loss: mean squared error of a one-weight linear model on x = 1, y = 0 gives g = 2w = 2.
        func step(_ optimizer: Optimizer) throws -> Float {
            let layer = Dense(1, useBias: false)
            let model = Sequential([Input(shape: [1]), layer])
            try layer.setWeights([Tensor(shape: [1, 1], scalars: [Float(1)])])
            model.compile(optimizer: optimizer, loss: .meanSquaredError)
            try model.trainOnBatch(Tensor([[1]]), Tensor([[0]]))
            return layer.weights[0].scalars[0]
        }
        #expect(Swift.abs(try step(SGD(learningRate: 0.1)) - 0.8) < 1e-6)
        #expect(Swift.abs(try step(Adam(learningRate: 0.1)) - 0.9) < 1e-5)
        // AdamW decays first: 1 - 1 * 0.004 * 0.1, then the Adam step of 0.1.
        #expect(Swift.abs(try step(AdamW(learningRate: 0.1)) - (1 - 0.0004 - 0.1)) < 1e-5)
        // RMSprop: v = 0.1 * 4; w -= 0.1 * 2 / sqrt(0.4 + 1e-7).
        #expect(Swift.abs(try step(RMSprop(learningRate: 0.1)) - (1 - 0.2 / Float(0.4).squareRoot())) < 1e-5)
        // Adagrad: a = 0.1 + 4; w -= 0.1 * 2 / sqrt(4.1).
        #expect(Swift.abs(try step(Adagrad(learningRate: 0.1)) - (1 - 0.2 / Float(4.1).squareRoot())) < 1e-5)
        // Exponential decay at step 0 is the initial rate.
        let decay = ExponentialDecay(initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5)
        #expect(Swift.abs(try step(Adam(schedule: decay)) - 0.9) < 1e-5)
        #expect(Swift.abs(decay.rate(at: 20) - 0.025) < 1e-7)
    }

    @Test func callbacks() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        Kiln.setRandomSeed(4)
        let model = Sequential([Input(shape: [1]), Dense(1)])
        let optimizer = SGD(learningRate: 0.01)
        model.compile(optimizer: optimizer, loss: .meanSquaredError, metrics: [.meanAbsoluteError])
        let x = try Tensor(shape: [20, 1], scalars: (0..<20).map { Float($0) / 20 })
        let y = try Tensor(shape: [20, 1], scalars: (0..<20).map { 3 * Float($0) / 20 + 1 })
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A monitor that never improves stops training after `patience` epochs and
        // restores the weights of the best epoch (the first).
        let stopper = EarlyStopping(monitor: "val_loss", patience: 2, mode: .max, restoreBestWeights: true)
        let reducer = ReduceLROnPlateau(monitor: "loss", factor: 0.5, patience: 1, mode: .max)
        let checkpoint = ModelCheckpoint(path: directory + "/m-{epoch:02d}.kiln", monitor: "val_loss", saveBestOnly: true)
        let logger = CSVLogger(path: directory + "/log.csv")
        let history = try model.fit(x, y, batchSize: 4, epochs: 10, validationSplit: 0.25, verbose: 0,
                                    callbacks: [stopper, reducer, checkpoint, logger])
        #expect(stopper.stoppedEpoch == 2)
        #expect(history.epochs == [0, 1, 2])
        #expect(optimizer.learningRate < 0.01)
        #expect(FileManager.default.fileExists(atPath: directory + "/m-01.kiln"))
        let csv = try String(contentsOfFile: directory + "/log.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "epoch,loss,mean_absolute_error,val_loss,val_mean_absolute_error")
        #expect(csv.count == 4)
        let restored = try Model.load(from: directory + "/m-01.kiln").getWeights()
        #expect(model.getWeights().map(\.scalars) == restored.map(\.scalars))
    }

    @Test func classWeightsAndAccuracyResolution() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        Kiln.setRandomSeed(8)
        let model = Sequential([Input(shape: [2]), Dense(3, activation: .softmax)])
        model.compile(optimizer: SGD(), loss: .categoricalCrossentropy, metrics: [.accuracy, .precision, .recall])
        let x = try Tensor([[1, 0], [0, 1], [1, 1]])
        let y = try Tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        let plain = try model.testOnBatch(x, y)
        #expect(Set(plain.keys) == ["loss", "accuracy", "precision", "recall"])
        let weighted = try model.trainOnBatch(x, y, classWeight: [0: 0, 1: 0, 2: 0])
        #expect(weighted["loss"] == 0)
        expectError("no weight for class 2") { try model.trainOnBatch(x, y, classWeight: [0: 1, 1: 1]) }
    }
}
