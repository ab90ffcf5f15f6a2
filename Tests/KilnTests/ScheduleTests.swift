import Foundation
import Kiln
import Testing

@Suite("Learning-rate schedules and LearningRateScheduler")
struct ScheduleTests {
    static let steps = [0, 1, 3, 4, 5, 6, 7, 10, 13, 14, 20]

    /// Each schedule with Keras 3.15's rates at `steps` (printed by Keras' own classes).
    static func cases() throws -> [(String, any LearningRateSchedule, [Float])] {
        [
            ("piecewise", try PiecewiseConstantDecay(boundaries: [3, 6], values: [0.1, 0.05, 0.01]),
             [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.01, 0.01, 0.01, 0.01, 0.01]),
            ("inverse time", InverseTimeDecay(initialLearningRate: 0.1, decaySteps: 4, decayRate: 0.5),
             [0.1, 0.08888889, 0.07272727, 0.06666667, 0.06153846, 0.05714286, 0.05333333, 0.04444445, 0.03809524, 0.03636364, 0.02857143]),
            ("inverse time, staircase", InverseTimeDecay(initialLearningRate: 0.1, decaySteps: 4, decayRate: 0.5, staircase: true),
             [0.1, 0.1, 0.1, 0.06666667, 0.06666667, 0.06666667, 0.06666667, 0.05, 0.04, 0.04, 0.02857143]),
            ("cosine", CosineDecay(initialLearningRate: 0.1, decaySteps: 10, alpha: 0.1),
             [0.1, 0.09779754, 0.08145034, 0.06890576, 0.055, 0.04109422, 0.02854967, 0.01, 0.01, 0.01, 0.01]),
            ("cosine with warmup", CosineDecay(initialLearningRate: 0, decaySteps: 10, warmupTarget: 0.2, warmupSteps: 4),
             [0.0, 0.05, 0.15000001, 0.2, 0.19510566, 0.18090169, 0.15877853, 0.06909829, 0.00489435, 0.0, 0.0]),
        ]
    }

    @Test("each schedule gives Keras' rates, and the training step uses the same rates on both backends")
    func ratesMatchKeras() throws {
        for (name, schedule, expected) in try Self.cases() {
            let rates = Self.steps.map { schedule.rate(at: $0) }
            #expect(zip(rates, expected).allSatisfy { Swift.abs($0 - $1) <= 1e-6 }, "\(name): \(rates)")
            // w ← w - rate·2w for the loss w² (input 1, target 0): the step's rate, step by step.
            for backend in Backend.allCases {
                let dense = Dense(1, useBias: false)
                let model = Sequential([Input(shape: [1]), dense])
                model.compile(optimizer: SGD(schedule: schedule), loss: .meanSquaredError, backend: backend)
                try dense.setWeights([try Tensor(shape: [1, 1], scalars: [1])])
                var w: Float = 1
                for step in 0..<15 {
                    try model.trainOnBatch(try Tensor(shape: [1, 1], scalars: [1]), try Tensor(shape: [1, 1], scalars: [0]))
                    w -= schedule.rate(at: step) * 2 * w
                    let got = dense.weights[0].scalars[0]
                    #expect(Swift.abs(got - w) <= 1e-6 * Swift.max(1, Swift.abs(w)), "\(name) step \(step) on \(backend): \(got) vs \(w)")
                }
            }
        }
    }

    @Test("schedules are saved with the model and read back")
    func saved() throws {
        for (name, schedule, _) in try Self.cases() {
            let model = Sequential([Input(shape: [2]), Dense(1)])
            model.compile(optimizer: Adam(schedule: schedule), loss: .meanSquaredError)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-schedule-\(UUID()).kiln").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.save(to: path)
            let again = try Model.load(from: path)
            let loaded = try #require(again.optimizer?.schedule)
            #expect(Self.steps.map { loaded.rate(at: $0) } == Self.steps.map { schedule.rate(at: $0) }, "\(name)")
            #expect(String(describing: type(of: loaded)) == String(describing: type(of: schedule)))
        }
        #expect(throws: KilnError.self) { try PiecewiseConstantDecay(boundaries: [3, 3], values: [1, 2, 3]) }
        #expect(throws: KilnError.self) { try PiecewiseConstantDecay(boundaries: [3], values: [1]) }
    }

    @Test("LearningRateScheduler sets the rate before each epoch; with a scheduled optimizer it is an error")
    func scheduler() throws {
        let x = try Tensor(shape: [4, 1], scalars: [1, 2, 3, 4]), y = try Tensor(shape: [4, 1], scalars: [2, 4, 6, 8])
        let model = Sequential([Input(shape: [1]), Dense(1)])
        model.compile(optimizer: SGD(learningRate: 0.01), loss: .meanSquaredError)
        var seen: [Float] = []
        final class Recorder: Callback {
            let record: (Float) -> Void
            init(_ record: @escaping (Float) -> Void) { self.record = record }
            func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws { record(model.optimizer?.learningRate ?? .nan) }
        }
        try model.fit(x, y, epochs: 4, verbose: 0, callbacks: [
            LearningRateScheduler { epoch, rate in epoch < 2 ? rate : rate * 0.5 }, Recorder { seen.append($0) },
        ])
        #expect(seen == [0.01, 0.01, 0.005, 0.0025])
        let scheduled = Sequential([Input(shape: [1]), Dense(1)])
        scheduled.compile(optimizer: SGD(schedule: CosineDecay(initialLearningRate: 0.1, decaySteps: 10)), loss: .meanSquaredError)
        #expect(throws: KilnError.self) {
            try scheduled.fit(x, y, epochs: 1, verbose: 0, callbacks: [LearningRateScheduler { _, rate in rate }])
        }
    }
}
