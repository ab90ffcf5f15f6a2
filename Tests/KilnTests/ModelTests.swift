import Foundation
import Kiln
import Testing

/// Two Gaussian blobs labelled by side: an easy binary problem, seeded.
func blobs(_ count: Int, seed: UInt64) throws -> (x: Tensor, y: Tensor) {
    var generator = SeededGenerator(seed: seed)
    var xs: [[Float]] = [], ys: [[Float]] = []
    for i in 0..<count {
        let label: Float = i % 2 == 0 ? 1 : 0
        let center: Float = label == 1 ? 1 : -1
        xs.append([center + generator.nextNormal() * 0.7, center * 0.5 + generator.nextNormal() * 0.7])
        ys.append([label])
    }
    return (try Tensor(xs), try Tensor(ys))
}

@Suite("Keras-style models")
struct ModelTests {
    @Test("the API as written in the docs trains, evaluates, predicts, saves and loads", arguments: Backend.allCases)
    func quickTour(_ backend: Backend) throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        Kiln.setRandomSeed(42)
        let (x, y) = try blobs(400, seed: 1)
        let (xTest, yTest) = try blobs(200, seed: 2)
        let model = Sequential([
            Input(shape: [2]),
            Dense(16, activation: .relu),
            Dense(1, activation: .sigmoid),
        ])
        model.compile(optimizer: Adam(learningRate: 0.01), loss: .binaryCrossentropy, metrics: [.accuracy], backend: backend)
        #expect(model.summaryText().contains("Total params: 65 (260.00 B)"))
        let history = try model.fit(x, y, batchSize: 32, epochs: 10, validationSplit: 0.2, verbose: 0)
        #expect(history.history["loss"]?.count == 10)
        #expect(history.history["val_accuracy"]?.count == 10)
        let loss = try #require(history.history["loss"])
        #expect(loss.last! < loss.first!)
        let scores = try model.evaluate(xTest, yTest, verbose: 0)
        #expect(scores["accuracy"]! > 0.85, "accuracy \(scores)")
        let p = try model.predict(xTest)
        #expect(p.shape == [200, 1])
        let w = model.layers[0].weights
        #expect(w.map(\.shape) == [[2, 16], [16]])
        try model.layers[0].setWeights(w)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID()).kiln").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let again = try Model.load(from: path)
        #expect(again is Sequential)
        // The loaded model runs on the default backend: equal within float rounding (1e-6).
        let reloadedP = try again.predict(xTest).scalars
        #expect(zip(reloadedP, p.scalars).allSatisfy { Swift.abs($0 - $1) <= 1e-6 })
        let reloaded = try again.evaluate(xTest, yTest, verbose: 0)
        #expect(Swift.abs(reloaded["loss"]! - scores["loss"]!) < 1e-6)
    }

    @Test("functional model with softmax and sparse labels")
    func functional() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        Kiln.setRandomSeed(7)
        let inp = Input(shape: [4])
        let h = Dense(8, activation: .relu)(inp)
        let out = Dense(3, activation: .softmax)(h)
        let m2 = Model(inputs: inp, outputs: out)
        var generator = SeededGenerator(seed: 3)
        var rows: [[Float]] = [], labels: [Float] = []
        for i in 0..<300 {
            let c = i % 3
            rows.append((0..<4).map { k in (k == c ? 2 : 0) + generator.nextNormal() * 0.5 })
            labels.append(Float(c))
        }
        let x = try Tensor(rows), y = try Tensor(shape: [300], scalars: labels)
        m2.compile(optimizer: Adam(learningRate: 0.02), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
        try m2.fit(x, y, epochs: 15, verbose: 0)
        #expect(try m2.evaluate(x, y, verbose: 0)["accuracy"]! > 0.9)
        #expect(m2.layers.map { $0 is Dense } == [true, true])
    }
}
