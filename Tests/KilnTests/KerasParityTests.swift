import Foundation
import Kiln
import Testing

/// One fixture made by tools/make_keras_fixtures.py from Keras itself.
struct KerasCase: Decodable, CustomTestStringConvertible, Sendable {
    typealias Weight = KerasFixture.Weight

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

    static let all = KerasFixture.cases("keras_parity.json", as: KerasCase.self)
}

@Suite("Keras parity: per-step losses and final weights match Keras 3 (JAX)")
struct KerasParityTests {
    @Test("train_on_batch over fixed batches", arguments: KerasCase.all, Backend.allCases)
    func matchesKeras(_ c: KerasCase, _ backend: Backend) throws {
        let model = Sequential([
            Input(shape: [c.x_shape[1]]),
            Dense(8, activation: .relu),
            Dense(c.outputs, activation: try ActivationFunction(named: c.activation)),
        ])
        model.compile(optimizer: KerasFixture.optimizer(c.optimizer), loss: KerasFixture.loss(c.loss), backend: backend)
        let worst = try KerasFixture.expectMatch(model, initial: c.initial_weights, x: try Tensor(shape: c.x_shape, scalars: c.x),
                                                 y: try Tensor(shape: c.y_shape, scalars: c.y), batchSize: c.batch_size,
                                                 epochs: c.epochs, stepLosses: c.step_losses, finalWeights: c.final_weights)
        print("keras parity \(c.testDescription) on \(backend): worst per-step loss relative error \(worst.losses)")
    }
}
