import Foundation
import Kiln
import Testing

/// Optimizer state belongs to the optimizer `compile` was given: a new optimizer starts
/// afresh (Keras' fine-tuning recipe), the same one carries on, and schedules survive saving.
@Suite("Optimizer state across compile, save and load")
struct OptimizerStateTests {
    let x = try! Tensor(shape: [8, 4], scalars: (0..<32).map { Float(($0 * 5) % 7) / 7 - 0.4 })
    let y = try! Tensor(shape: [8], scalars: [Float(0), 1, 2, 0, 1, 2, 0, 1])

    func temporary(_ suffix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID())\(suffix)").path
    }

    @Test("compile(SGD(0.1)); fit; compile(SGD(0)); fit leaves the weights alone", arguments: Backend.allCases)
    func recompilingWithRateZeroFreezesTheWeights(_ backend: Backend) throws {
        let model = smallClassifier(backend: backend)
        model.compile(optimizer: SGD(learningRate: 0.1), loss: .sparseCategoricalCrossentropy, backend: backend)
        try model.fit(x, y, batchSize: 4, epochs: 2, verbose: 0)
        #expect(model.optimizer?.iterations == 4)
        model.compile(optimizer: SGD(learningRate: 0), loss: .sparseCategoricalCrossentropy, backend: backend)
        #expect(model.optimizer?.iterations == 0)
        #expect(model.optimizer?.learningRate == 0)
        let before = model.getWeights()
        try model.fit(x, y, batchSize: 4, epochs: 2, verbose: 0)
        #expect(model.getWeights() == before)
        #expect(model.optimizer?.iterations == 4)
        #expect(model.optimizer?.learningRate == 0)
    }

    @Test("a fresh Adam after training starts at iteration 0 with its own rate and moments")
    func freshAdamStartsAfresh() throws {
        let trained = smallClassifier()
        trained.compile(optimizer: Adam(learningRate: 0.01), loss: .sparseCategoricalCrossentropy)
        try trained.fit(x, y, batchSize: 4, epochs: 3, verbose: 0)
        trained.compile(optimizer: Adam(learningRate: 1e-5), loss: .sparseCategoricalCrossentropy)
        #expect(trained.optimizer?.iterations == 0)
        #expect(trained.optimizer?.learningRate == 1e-5)

        // One step from the same weights on a model that never trained gives the same result:
        // no moment, iteration count or rate carried over from the first optimizer.
        let fresh = smallClassifier()
        try fresh.setWeights(trained.getWeights())
        fresh.compile(optimizer: Adam(learningRate: 1e-5), loss: .sparseCategoricalCrossentropy)
        try trained.trainOnBatch(x, y)
        try fresh.trainOnBatch(x, y)
        #expect(trained.getWeights() == fresh.getWeights())
        #expect(trained.optimizer?.iterations == 1)
    }

    @Test("compiling again with the same optimizer keeps its state, as in Keras")
    func sameOptimizerKeepsItsState() throws {
        let model = smallClassifier()
        let adam = Adam(learningRate: 0.01)
        model.compile(optimizer: adam, loss: .sparseCategoricalCrossentropy)
        try model.fit(x, y, batchSize: 4, epochs: 1, verbose: 0)
        model.compile(optimizer: adam, loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
        #expect(model.optimizer?.iterations == 2)
        try model.fit(x, y, batchSize: 4, epochs: 1, verbose: 0)
        #expect(adam.iterations == 4)
    }

    @Test("the optimizer replaced by compile no longer reports the model's state")
    func replacedOptimizerLetsGo() throws {
        let model = smallClassifier()
        let first = SGD(learningRate: 0.1)
        model.compile(optimizer: first, loss: .sparseCategoricalCrossentropy)
        try model.fit(x, y, batchSize: 4, epochs: 1, verbose: 0)
        model.compile(optimizer: SGD(learningRate: 0.5), loss: .sparseCategoricalCrossentropy)
        try model.fit(x, y, batchSize: 8, epochs: 1, verbose: 0)
        #expect(first.iterations == 2)
        #expect(first.learningRate == 0.1)
        #expect(model.optimizer?.iterations == 1)
    }

    @Test("every optimizer takes a schedule; save and load keep it and the step it reached")
    func schedulesSurviveSaving() throws {
        let schedule = ExponentialDecay(initialLearningRate: 0.1, decaySteps: 3, decayRate: 0.5, staircase: true)
        let optimizers: [Optimizer] = [SGD(schedule: schedule, momentum: 0.9), Adam(schedule: schedule),
                                       AdamW(schedule: schedule), RMSprop(schedule: schedule), Adagrad(schedule: schedule)]
        for optimizer in optimizers {
            let model = smallClassifier()
            model.compile(optimizer: optimizer, loss: .sparseCategoricalCrossentropy)
            try model.fit(x, y, batchSize: 2, epochs: 2, shuffle: false, verbose: 0)
            #expect(optimizer.iterations == 8)
            #expect(Swift.abs(optimizer.learningRate - 0.1 * 0.25) < 1e-7, "\(optimizer.name)")
            let path = temporary(".kiln")
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.save(to: path)
            let again = try Model.load(from: path)
            let restored = try #require(again.optimizer)
            let decay = try #require(restored.schedule as? ExponentialDecay, "\(optimizer.name) lost its schedule")
            #expect(decay == schedule)
            #expect(restored.iterations == 8)
            #expect(Swift.abs(restored.learningRate - 0.1 * 0.25) < 1e-7)
            // Both continue identically: same rate from the same step.
            try model.trainOnBatch(x, y)
            try again.trainOnBatch(x, y)
            for (u, v) in zip(model.getWeights(), again.getWeights()) {
                #expect(zip(u.scalars, v.scalars).allSatisfy { Swift.abs($0 - $1) <= 1e-6 }, "\(optimizer.name)")
            }
        }
    }

    @Test("a schedule without a configuration cannot be saved, and says so")
    func customScheduleWithoutConfig() throws {
        struct Halving: LearningRateSchedule {
            func rate(at step: Node) throws -> Node { try pow(step.graph.constant(0.5), step) }
            func rate(at step: Int) -> Float { Float(Foundation.pow(0.5, Double(step))) }
        }
        let model = smallClassifier()
        model.compile(optimizer: SGD(schedule: Halving()), loss: .sparseCategoricalCrossentropy)
        let path = temporary(".kiln")
        defer { try? FileManager.default.removeItem(atPath: path) }
        expectError("Halving", "config") { try model.save(to: path) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
