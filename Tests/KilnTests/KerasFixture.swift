import Foundation
import Kiln
import Testing

/// What the fixtures of tools/make_keras_fixtures.py share: weights as shapes and values, the
/// optimizers and losses by Keras' names, and the training run every case repeats.
enum KerasFixture {
    struct Weight: Decodable, Sendable {
        let shape: [Int]
        let values: [Float]

        var tensor: Tensor { get throws { try Tensor(shape: shape, scalars: values) } }
    }

    /// Relative tolerance 1e-5, with an absolute floor of 1e-6 for values near zero.
    static let rtol: Float = 1e-5, atol: Float = 1e-6

    /// The cases of fixture file `name` (in Fixtures/), or none with a recorded issue.
    static func cases<Case: Decodable>(_ name: String, as _: Case.Type) -> [Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
        do {
            return try JSONDecoder().decode(File<Case>.self, from: Data(contentsOf: url)).cases
        } catch {
            Issue.record("cannot read \(url.path): \(error)")
            return []
        }
    }

    /// A fixture file: its cases (the Keras version and backend are for people).
    private struct File<Case: Decodable>: Decodable { let cases: [Case] }

    /// The optimizer the script made under `name`, with the same settings.
    static func optimizer(_ name: String) -> Optimizer {
        switch name {
        case "sgd": SGD(learningRate: 0.1)
        case "sgd_momentum": SGD(learningRate: 0.05, momentum: 0.9)
        case "sgd_nesterov": SGD(learningRate: 0.05, momentum: 0.9, nesterov: true)
        default: Adam(learningRate: 0.01)
        }
    }

    /// The loss Keras calls `name`.
    static func loss(_ name: String) -> Loss {
        switch name {
        case "mean_squared_error": .meanSquaredError
        case "binary_crossentropy": .binaryCrossentropy
        default: .sparseCategoricalCrossentropy
        }
    }

    /// Trains `model` from `initial` weights with `trainOnBatch` over fixed batches for
    /// `epochs`, then expects each step's loss and the final weights to match Keras'; returns
    /// the worst relative errors of the losses and of the weights.
    @discardableResult
    static func expectMatch(_ model: Model, initial: [Weight], x: Tensor, y: Tensor, batchSize: Int, epochs: Int,
                            stepLosses: [Float], finalWeights: [Weight]) throws -> (losses: Float, weights: Float) {
        try model.setWeights(initial.map { try $0.tensor })
        var losses: [Float] = []
        for _ in 0..<epochs {
            for start in stride(from: 0, to: x.shape[0], by: batchSize) {
                let rows = start..<Swift.min(start + batchSize, x.shape[0])
                losses.append(try #require(model.trainOnBatch(x.rows(rows), y.rows(rows))["loss"]))
            }
        }
        let compared = Tensor(losses).compared(to: Tensor(stepLosses), rtol: rtol, atol: atol)
        #expect(compared.passes, "per-step losses against Keras': \(compared)")
        var worst: Float = 0
        for (index, (ours, keras)) in zip(model.getWeights(), finalWeights).enumerated() {
            let expected = try keras.tensor
            expectClose(ours, expected, rtol: rtol, atol: atol, "weight \(index) against Keras'")
            worst = Swift.max(worst, ours.compared(to: expected, rtol: rtol, atol: atol).maxRelativeError)
        }
        return (compared.maxRelativeError, worst)
    }
}
