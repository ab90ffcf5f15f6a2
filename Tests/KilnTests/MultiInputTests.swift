import Foundation
import Kiln
import Testing

@Suite("Models with several inputs: arrays in input order or by name")
struct MultiInputTests {
    /// A two-input model: a title and a body of different widths, each through a Dense, joined.
    static func model() -> (Model, Input, Input) {
        let title = Input(shape: [3], name: "title"), body = Input(shape: [5], name: "body")
        let joined = Concatenate()([Dense(4, activation: .relu)(title), Dense(4, activation: .relu)(body)])
        return (Model(inputs: [title, body], outputs: Dense(1, activation: .sigmoid)(joined)), title, body)
    }

    static func data(_ count: Int, seed: UInt64) throws -> (Tensor, Tensor, Tensor) {
        var generator = SeededGenerator(seed: seed)
        let titles = try Tensor.randomUniform(shape: [count, 3], lower: -1, upper: 1, using: &generator)
        let bodies = try Tensor.randomUniform(shape: [count, 5], lower: -1, upper: 1, using: &generator)
        let labels = (0..<count).map { i -> Float in titles.scalars[i * 3] + bodies.scalars[i * 5 + 4] > 0 ? 1 : 0 }
        return (titles, bodies, try Tensor(shape: [count], scalars: labels))
    }

    @Test("fit, evaluate, predict and the batch methods take a list or a dictionary, alike, on both backends")
    func listOrDictionary() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        let (titles, bodies, y) = try Self.data(64, seed: 4)
        var results: [[Float]] = []
        for backend in Backend.allCases {
            for byName in [false, true] {
                Kiln.setRandomSeed(21)
                let (model, _, _) = Self.model()
                try model.compile(optimizer: "adam", loss: "binary_crossentropy", metrics: ["accuracy"], backend: backend)
                let x: any ModelInputs = byName ? ["body": bodies, "title": titles] : [titles, bodies]
                let history = try model.fit(x, y, batchSize: 16, epochs: 3, validationData: (["title": titles, "body": bodies], y),
                                            shuffle: false, verbose: 0)
                #expect(history.history["val_accuracy"]?.count == 3)
                let predicted = try model.predict(x, batchSize: 10)
                #expect(predicted.shape == [64, 1])
                // Batches of 10 and one batch of all agree.
                #expect(try model.predictOnBatch(x).scalars == predicted.scalars)
                let evaluated = try model.evaluate(x, y, verbose: 0)
                #expect(try model.testOnBatch([titles, bodies], y)["loss"].map { Swift.abs($0 - evaluated["loss"]!) < 1e-5 } == true)
                try model.trainOnBatch(["title": titles, "body": bodies], y)
                results.append(predicted.scalars)
            }
        }
        for other in results.dropFirst() { #expect(zip(other, results[0]).allSatisfy { Swift.abs($0 - $1) <= 1e-5 }) }
    }

    @Test("missing, unknown and miscounted inputs are errors naming the model's inputs")
    func badInputs() throws {
        let (titles, bodies, y) = try Self.data(8, seed: 5)
        let (model, _, _) = Self.model()
        try model.compile(optimizer: "sgd", loss: "binary_crossentropy")
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch let error as KilnError { return error.message } catch { return "\(error)" }
            return "no error"
        }
        let missing = message { _ = try model.predict(["title": titles]) }
        #expect(missing.contains("no array for input \"body\"") && missing.contains("title, body"), "\(missing)")
        let unknown = message { try model.fit(["title": titles, "body": bodies, "tags": bodies], y, verbose: 0) }
        #expect(unknown.contains("has no input \"tags\""), "\(unknown)")
        let counted = message { _ = try model.evaluate([titles], y, verbose: 0) }
        #expect(counted.contains("has 2 inputs (title, body), got 1 arrays"), "\(counted)")
        let swapped = message { _ = try model.predict([bodies, titles]) }
        #expect(swapped.contains("input \"title\" expects samples of shape (None, 3), got x of shape [8, 5]"), "\(swapped)")
        let uneven = message { _ = try model.predict([titles, try bodies.rows(0..<4)]) }
        #expect(uneven.contains("different numbers of samples: [8, 4]"), "\(uneven)")
    }
}
