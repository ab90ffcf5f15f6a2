import Foundation
import Kiln
import Testing

@Suite("Regularizers and constraints")
struct RegularizationTests {
    @Test("penalties are Keras' sums, in model.losses and in the loss evaluate and fit report, on both backends")
    func penaltiesJoinTheLoss() throws {
        let x = try Tensor(shape: [4, 2], scalars: [1, 0, 0, 1, 1, 1, -1, 2]), y = try Tensor(shape: [4, 1], scalars: [1, 0, 2, 1])
        for backend in Backend.allCases {
            let dense = Dense(1, kernelRegularizer: .l2(0.1), biasRegularizer: .l1(0.5))
            let model = Sequential([Input(shape: [2]), dense])
            model.compile(optimizer: SGD(learningRate: 0.01), loss: .meanSquaredError, backend: backend)
            try dense.setWeights([try Tensor(shape: [2, 1], scalars: [1, -2]), try Tensor(shape: [1], scalars: [-0.5])])
            // 0.1 · (1 + 4) and 0.5 · 0.5.
            #expect(model.losses == [0.5, 0.25])
            let predicted = try model.predict(x).scalars
            let mse = zip(predicted, y.scalars).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 4
            let evaluated = try #require(try model.evaluate(x, y, verbose: 0)["loss"])
            #expect(Swift.abs(evaluated - (mse + 0.75)) < 1e-5, "\(evaluated) vs \(mse) + 0.75 on \(backend)")
            let trained = try #require(try model.trainOnBatch(x, y)["loss"])
            #expect(Swift.abs(trained - (mse + 0.75)) < 1e-5)
            // The penalty's gradient moves the weights too: the kernel shrinks toward zero faster than without it.
            #expect(model.losses[0] < 0.5)
        }
    }

    @Test("an activity regularizer's penalty is per sample: the same loss at batch 2 and 4")
    func activityPenaltyIsPerSample() throws {
        let dense = Dense(2, useBias: false, activityRegularizer: .l1(1))
        let model = Sequential([Input(shape: [2]), dense])
        model.compile(loss: .meanSquaredError)
        try dense.setWeights([try Tensor(shape: [2, 2], scalars: [1, 0, 0, 1])])
        let x = try Tensor(shape: [4, 2], scalars: [1, -1, 1, -1, 1, -1, 1, -1]), y = try Tensor(shape: [4, 2], scalars: [1, -1, 1, -1, 1, -1, 1, -1])
        // Outputs equal targets: the loss is the penalty alone, Σ|out| / batch = 2.
        #expect(try model.evaluate(x, y, batchSize: 4, verbose: 0)["loss"] == 2)
        #expect(try model.evaluate(x, y, batchSize: 2, verbose: 0)["loss"] == 2)
    }

    @Test("constraints hold after every update, on both backends")
    func constraintsHold() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        let (x, y) = try randomSequences(32, steps: 4, features: 3, seed: 12)
        for backend in Backend.allCases {
            Kiln.setRandomSeed(2)
            let first = Dense(6, activation: .relu, kernelConstraint: .maxNorm(0.3), biasConstraint: .nonNeg)
            let second = Dense(1, activation: .sigmoid, kernelConstraint: .unitNorm())
            let lstm = LSTM(3, returnSequences: true, recurrentConstraint: .maxNorm(0.5, axis: [0, 1]))
            let model = Sequential([Input(shape: [4, 3]), lstm, Flatten(), first, second])
            model.compile(optimizer: Adam(learningRate: 0.1), loss: .binaryCrossentropy, backend: backend)
            try model.fit(x, y, batchSize: 8, epochs: 2, verbose: 0)
            func columnNorms(_ t: Tensor) -> [Float] {
                let (rows, columns) = (t.shape[0], t.shape[1])
                return (0..<columns).map { j in (0..<rows).reduce(Float(0)) { $0 + t.scalars[$1 * columns + j] * t.scalars[$1 * columns + j] }.squareRoot() }
            }
            #expect(columnNorms(first.weights[0]).allSatisfy { $0 <= 0.3 + 1e-5 })
            #expect(first.weights[1].scalars.allSatisfy { $0 >= 0 })
            #expect(columnNorms(second.weights[0]).allSatisfy { Swift.abs($0 - 1) < 1e-4 })
            let recurrent = lstm.weights[1].scalars
            #expect(recurrent.reduce(0) { $0 + $1 * $1 }.squareRoot() <= 0.5 + 1e-5)
        }
    }

    @Test("regularizers and constraints survive saving, also in a Bidirectional's copies")
    func survivesSaving() throws {
        let model = Sequential([
            Input(shape: [5, 2]),
            Bidirectional(GRU(3, returnSequences: true, kernelRegularizer: .l1l2(), recurrentConstraint: .unitNorm())),
            Conv1D(2, kernelSize: 2, kernelRegularizer: .l2(0.003), biasConstraint: .minMaxNorm(minValue: 0, maxValue: 2, rate: 0.5)),
            Flatten(), Dense(1, activityRegularizer: .l1(0.2), kernelConstraint: .maxNorm(2, axis: [0, 1])),
        ])
        model.compile(loss: .meanSquaredError)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-regularized-\(UUID()).kiln").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let again = try Model.load(from: path)
        for (a, b) in zip(again.variables, model.variables) {
            #expect(a.path == b.path && a.regularizer == b.regularizer && a.constraint == b.constraint, "\(a.path)")
        }
        #expect(again.layers.map(\.activityRegularizer) == model.layers.map(\.activityRegularizer))
        #expect(model.variables.compactMap(\.regularizer).count == 3)
        #expect(again.losses == model.losses)
    }

    @Test("bad factors, axes and weight names are errors naming the layer")
    func badInput() {
        expectModelError("dense", "factors must be finite and not negative") {
            Sequential([Input(shape: [2]), Dense(1, kernelRegularizer: .l2(-1))])
        }
        expectModelError("dense", "axis 2 is out of range for a weight of rank 2") {
            Sequential([Input(shape: [2]), Dense(1, kernelConstraint: .maxNorm(1, axis: [2]))])
        }
        let dense = Dense(1)
        dense.weightRegularizers["kernal"] = .l2()
        expectModelError("dense", "no such weight", "kernel, bias") { Sequential([Input(shape: [2]), dense]) }
        // As in Keras, a bias regularizer without a bias does nothing.
        let model = Sequential([Input(shape: [2]), Dense(1, useBias: false, biasRegularizer: .l2())])
        #expect(!model.summaryText().contains("not built"))
    }
}
