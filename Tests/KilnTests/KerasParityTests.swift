import Foundation
import Kiln
import Testing

/// One fixture made by tools/make_keras_fixtures.py from Keras itself.
struct KerasCase: Decodable, CustomTestStringConvertible, Sendable {
    struct Weight: Decodable, Sendable {
        let shape: [Int]
        let values: [Float]
    }

    let optimizer: String
    let loss: String
    let outputs: Int
    let activation: String
    let batch_size: Int
    let epochs: Int
    let x: [Float]
    let x_shape: [Int]
    let y: [Float]
    let y_shape: [Int]
    let initial_weights: [Weight]
    let step_losses: [Float]
    let final_weights: [Weight]

    var testDescription: String { "\(optimizer), \(loss)" }

    static let all: [KerasCase] = {
        struct File: Decodable { let cases: [KerasCase] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/keras_parity.json")
        do {
            return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
        } catch {
            Issue.record("cannot read \(url.path): \(error)")
            return []
        }
    }()
}

@Suite("Keras parity: per-step losses and final weights match Keras 3 (JAX)")
struct KerasParityTests {
    /// Relative tolerance 1e-5, with an absolute floor of 1e-6 for values near zero.
    static let rtol: Float = 1e-5, atol: Float = 1e-6

    @Test("train_on_batch over fixed batches", arguments: KerasCase.all, Backend.allCases)
    func matchesKeras(_ c: KerasCase, _ backend: Backend) throws {
        let model = Sequential([
            Input(shape: [c.x_shape[1]]),
            Dense(8, activation: .relu),
            Dense(c.outputs, activation: try ActivationFunction(named: c.activation)),
        ])
        try model.setWeights(c.initial_weights.map { try Tensor(shape: $0.shape, scalars: $0.values) })
        let optimizer: Optimizer
        switch c.optimizer {
        case "sgd": optimizer = SGD(learningRate: 0.1)
        case "sgd_momentum": optimizer = SGD(learningRate: 0.05, momentum: 0.9)
        case "sgd_nesterov": optimizer = SGD(learningRate: 0.05, momentum: 0.9, nesterov: true)
        default: optimizer = Adam(learningRate: 0.01)
        }
        let loss: Loss
        switch c.loss {
        case "mean_squared_error": loss = .meanSquaredError
        case "binary_crossentropy": loss = .binaryCrossentropy
        default: loss = .sparseCategoricalCrossentropy
        }
        model.compile(optimizer: optimizer, loss: loss, backend: backend)
        let x = try Tensor(shape: c.x_shape, scalars: c.x), y = try Tensor(shape: c.y_shape, scalars: c.y)
        var losses: [Float] = []
        for _ in 0..<c.epochs {
            for start in stride(from: 0, to: c.x_shape[0], by: c.batch_size) {
                let rows = start..<Swift.min(start + c.batch_size, c.x_shape[0])
                losses.append(try #require(model.trainOnBatch(x.rows(rows), y.rows(rows))["loss"]))
            }
        }
        let stepLosses = Tensor(losses).compared(to: Tensor(c.step_losses), rtol: Self.rtol, atol: Self.atol)
        #expect(stepLosses.passes, "per-step losses against Keras': \(stepLosses)")
        for (index, (ours, keras)) in zip(model.getWeights(), c.final_weights).enumerated() {
            expectClose(ours, try Tensor(shape: keras.shape, scalars: keras.values), rtol: Self.rtol, atol: Self.atol,
                        "weight \(index) against Keras'")
        }
        print("keras parity \(c.testDescription) on \(backend): worst per-step loss relative error \(stepLosses.maxRelativeError)")
    }
}
