import Foundation
import Kiln
import KilnGraph
import KilnTestSupport
import Testing

@Suite("Custom training steps: models, losses, gradients and optimizers in one compiled call")
struct TrainingStepTests {
    static func data(_ count: Int) throws -> (x: Tensor, y: Tensor) {
        let x = try Tensor(shape: [count, 3], scalars: (0..<(count * 3)).map { Float(($0 * 5) % 11) / 5 - 1 })
        let y = try Tensor(shape: [count, 2], scalars: (0..<(count * 2)).map { Float(($0 * 3) % 7) / 6 })
        return (x, y)
    }

    static func regressor() -> Model {
        Sequential([Input(shape: [3]), Dense(5, activation: .tanh), Dense(2)])
    }

    @Test("a step written by hand trains exactly as trainOnBatch does", arguments: Backend.allCases)
    func matchesTrainOnBatch(_ backend: Backend) throws {
        let (x, y) = try Self.data(12)
        let reference = Self.regressor(), custom = Self.regressor()
        try custom.setWeights(reference.getWeights())
        reference.compile(optimizer: Adam(learningRate: 0.05), loss: .meanSquaredError, backend: backend)
        let step = try TrainingStep(backend: backend) { s in
            let xs = try s.input("x", shape: [3]), ys = try s.input("y", shape: [2])
            let loss = try Loss.meanSquaredError(ys, s.call(custom, xs))
            try s.minimize(loss, over: custom, with: Adam(learningRate: 0.05))
            s.log("loss", loss)
        }
        #expect(step.inputs.map(\.name) == ["x", "y"] && step.logNames == ["loss"])
        for _ in 0..<4 {
            let expected = try #require(reference.trainOnBatch(x, y)["loss"])
            let logged = try #require(step.run(["x": x, "y": y])["loss"])
            #expect(abs(logged - expected) <= 1e-6 * max(1, abs(expected)))
        }
        for (ours, theirs) in zip(custom.getWeights(), reference.getWeights()) {
            expectClose(ours, theirs, rtol: 1e-5, atol: 1e-6, "weights after four steps")
        }
    }

    @Test("two models, two optimizers and a frozen teacher in inference behaviour in one step")
    func twoOptimizers() throws {
        let (x, y) = try Self.data(16)
        let teacher = Sequential([Input(shape: [3]), Dense(8, activation: .relu), Dropout(0.5), Dense(2)])
        let a = Self.regressor(), b = Self.regressor()
        let teacherWeights = teacher.getWeights()
        let aWeights = a.getWeights(), bWeights = b.getWeights()
        let step = try TrainingStep { s in
            let xs = try s.input("x", shape: [3]), ys = try s.input("y", shape: [2])
            let target = try s.call(teacher, xs, training: false)
            let lossA = try Loss.meanSquaredError(target, s.call(a, xs))
            let lossB = try Loss.meanAbsoluteError(ys, s.call(b, xs))
            try s.minimize(lossA, over: a, with: Adam(learningRate: 0.01))
            // The same as minimize, in two steps: the gradients, then the optimizer's update.
            let weights = b.layers.flatMap(\.trainableVariables)
            try SGD(learningRate: 0.1).apply(gradients: s.gradients(of: lossB, wrt: weights), to: weights, in: s)
            s.log("a", lossA)
            s.log("b", lossB)
        }
        let first = try step.run(["x": x, "y": y])
        // The teacher's dropout is off: the same targets every run, and its weights stay.
        let second = try step.run(["x": x, "y": y])
        #expect(Set(first.keys) == ["a", "b"] && second["a"]! < first["a"]!)
        #expect(teacher.getWeights() == teacherWeights)
        #expect(a.getWeights() != aWeights && b.getWeights() != bWeights)
    }

    @Test("two optimizers of one kind in a step; one with state already, missing feeds and misshapen calls are errors")
    func badSteps() throws {
        let a = Self.regressor(), b = Self.regressor()
        // Two optimizers of one kind: the second files its state apart, unless it already has state.
        let aWeights = a.getWeights(), bWeights = b.getWeights()
        let twoAdams = try TrainingStep { s in
            let xs = try s.input("x", shape: [3])
            try s.minimize(try mean(square(s.call(a, xs))), over: a, with: Adam(learningRate: 0.1))
            try s.minimize(try mean(square(s.call(b, xs))), over: b, with: Adam(learningRate: 0.1))
        }
        try twoAdams.run(["x": Tensor(shape: [4, 3], repeating: 1)])
        #expect(a.getWeights() != aWeights && b.getWeights() != bWeights)
        let used = Adam()
        let c = Self.regressor()
        c.compile(optimizer: used, loss: .meanSquaredError)
        try c.trainOnBatch(Tensor(shape: [2, 3], repeating: 1), Tensor(shape: [2, 2], repeating: 0))
        expectError("two optimizers called \"adam\"", "already has state") {
            _ = try TrainingStep { s in
                let xs = try s.input("x", shape: [3])
                try s.minimize(try sum(s.call(a, xs)), over: a, with: Adam())
                try s.minimize(try sum(s.call(b, xs)), over: b, with: used)
            }
        }
        expectError("model", "takes (None, 3), called on (None, 4)") {
            _ = try TrainingStep { s in _ = try s.call(a, try s.input("x", shape: [4])) }
        }
        let step = try TrainingStep { s in
            let xs = try s.input("x", shape: [3])
            s.log("out", try mean(s.call(a, xs, training: false)))
        }
        expectError("has no value for input \"x\"") { _ = try step.run([:]) }
        expectError("takes samples of shape (None, 3), got [2, 4]") { _ = try step.run(["x": Tensor(shape: [2, 4], repeating: 0)]) }
        expectError("logs \"m\" of shape") {
            _ = try TrainingStep { s in s.log("m", try s.call(a, try s.input("x", shape: [3]))) }
        }
    }

    @Test("fit runs the step over a dataset and records each epoch's mean of the logged values")
    func fitOverDataset() throws {
        let (x, y) = try Self.data(24)
        let model = Self.regressor()
        let step = try TrainingStep { s in
            let xs = try s.input("x", shape: [3]), ys = try s.input("y", shape: [2])
            let loss = try Loss.meanSquaredError(ys, s.call(model, xs))
            try s.minimize(loss, over: model, with: SGD(learningRate: 0.1))
            s.log("loss", loss)
        }
        let history = try step.fit(ArrayDataset(x: ["x": x, "y": y], batchSize: 8), epochs: 4, verbose: 0)
        let losses = try #require(history.history["loss"])
        #expect(losses.count == 4 && losses[3] < losses[0])
    }
}

@Suite("Kullback-Leibler divergence")
struct KullbackLeiblerTests {
    @Test("matches the value computed by hand, on both backends, and is found by name", arguments: Backend.allCases)
    func handComputed(_ backend: Backend) throws {
        let step = try TrainingStep(backend: backend) { s in
            let p = try s.input("p", shape: [2]), q = try s.input("q", shape: [2])
            s.log("kld", try Loss.kullbackLeiblerDivergence(p, q))
        }
        let logs = try step.run(["p": Tensor([[0.5, 0.5], [1, 0]]), "q": Tensor([[0.25, 0.75], [1, 0]])])
        // Sample 1: 0.5 ln 2 + 0.5 ln(2/3); sample 2: 0 (a zero target contributes 1e-7 ln(1e-7 / 1e-7) = 0).
        let expected = (0.5 * log(2.0) + 0.5 * log(2.0 / 3.0)) / 2
        #expect(abs(Double(try #require(logs["kld"])) - expected) < 1e-6)
        #expect(try Loss(named: "kld").name == "kl_divergence")
    }
}
