import Foundation
import Kiln
import Testing

/// `[batch, features]` values of a prediction, one row per sample.
private func rows(_ t: Tensor) -> [[Float]] {
    let width = t.shape.dropFirst().reduce(1, *)
    return (0..<(t.shape.first ?? 0)).map { Array(t.scalars[($0 * width)..<(($0 + 1) * width)]) }
}

private func close(_ a: [Float], _ b: [Float], _ tolerance: Float = 2e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { Swift.abs($0 - $1) <= tolerance }
}

@Suite("Recurrent layers: returned states")
struct ReturnStateTests {
    @Test("returnState gives the output and then the final states, as Keras' list, on both backends")
    func finalStates() throws {
        let (x, _) = try randomSequences(3, steps: 5, features: 4, seed: 21)
        let samples = (0..<3).map { i in (0..<5).map { t in (0..<4).map { x.scalars[(i * 5 + t) * 4 + $0] } } }
        var generator = SeededGenerator(seed: 12)
        let u = 3
        let weights = try [[4, 4 * u], [u, 4 * u], [4 * u]].map {
            try Tensor.randomUniform(shape: $0, lower: -0.6, upper: 0.6, using: &generator)
        }
        for backend in Backend.allCases {
            let input = Input(shape: [5, 4])
            let lstm = LSTM(u, returnState: true)
            let parts = lstm.callAll(input)
            #expect(parts.map(\.shape) == [[u], [u], [u]])
            let model = Model(inputs: input, outputs: Concatenate()(parts))
            model.compile(loss: .meanSquaredError, backend: backend)
            try lstm.setWeights(weights)
            for (sample, got) in zip(samples, rows(try model.predict(x))) {
                let (h, c) = ReferenceCell.lstmStates(sample, kernel: weights[0].scalars, recurrent: weights[1].scalars,
                                                      bias: weights[2].scalars, units: u)
                // The output is the last h; then h; then c.
                #expect(close(got, h[4] + h[4] + c), "\(got) on \(backend)")
            }

            // With the sequences returned, the state is the last step's output.
            let gru = GRU(u, returnSequences: true, returnState: true)
            let sequenceAndState = gru.callAll(input)
            #expect(sequenceAndState.map(\.shape) == [[5, u], [u]])
            let both = Model(inputs: input, outputs: Concatenate()([Flatten()(sequenceAndState[0]), sequenceAndState[1]]))
            both.compile(loss: .meanSquaredError, backend: backend)
            for row in rows(try both.predict(x)) {
                #expect(close(Array(row[(4 * u)..<(5 * u)]), Array(row[(5 * u)...]), 0))
            }
        }
    }

    @Test("an encoder's states start a decoder: trains alike on both backends, summary and saving keep the states")
    func encoderDecoder() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        let (x, y) = try randomSequences(24, steps: 6, features: 3, seed: 8)
        var results: [[Float]] = []
        for backend in Backend.allCases {
            Kiln.setRandomSeed(9)
            let source = Input(shape: [6, 3])
            let encoded = LSTM(4, returnState: true, name: "encoder").callAll(source)
            let decoded = LSTM(4, returnSequences: true, name: "decoder")([source, encoded[1], encoded[2]])
            let model = Model(inputs: source, outputs: Dense(1, activation: .sigmoid)(GlobalAveragePooling1D()(decoded)))
            let text = model.summaryText()
            #expect(text.contains("encoder (LSTM)") && text.contains("[(None, 4), (None, 4)"), "\(text)")
            model.compile(optimizer: Adam(learningRate: 0.02), loss: .binaryCrossentropy, backend: backend)
            let before = model.getWeights()
            try model.fit(x, y, batchSize: 8, epochs: 2, verbose: 0)
            // The encoder is trained through the decoder's initial states.
            #expect(zip(before[1].scalars, model.getWeights()[1].scalars).contains { $0 != $1 })
            let predicted = try model.predict(x).scalars
            results.append(predicted)

            let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-states-\(UUID()).kiln").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.save(to: path)
            let again = try Model.load(from: path)
            #expect(again.layers.map(\.name) == model.layers.map(\.name))
            #expect(close(try again.predict(x).scalars, predicted, 1e-6))
        }
        #expect(close(results[0], results[1], 1e-5))
    }

    @Test("a layer with several outputs in a Sequential model is an error saying to use a functional model")
    func sequentialRejectsStates() {
        expectModelError("lstm", "has 3 outputs", "functional Model") {
            Sequential([Input(shape: [4, 2]), LSTM(3, returnState: true), Dense(1)])
        }
    }

    @Test("Bidirectional takes each direction's initial states and returns both directions' final states")
    func bidirectionalStates() throws {
        let (x, _) = try randomSequences(4, steps: 5, features: 3, seed: 31)
        for backend in Backend.allCases {
            let input = Input(shape: [5, 3])
            let summary = GlobalAveragePooling1D()(input)
            let starts = (0..<4).map { _ in Dense(2, activation: .tanh)(summary) }
            let bidirectional = Bidirectional(LSTM(2, returnState: true))
            let parts = bidirectional.callAll([input] + starts)
            #expect(parts.map(\.shape) == [[4], [2], [2], [2], [2]])
            // The forward LSTM alone, from the same initial states, with the same weights.
            let alone = LSTM(2, returnState: true)
            let aloneParts = alone.callAll([input, starts[0], starts[1]])
            let model = Model(inputs: input, outputs: Concatenate()(parts + aloneParts))
            model.compile(loss: .meanSquaredError, backend: backend)
            try alone.setWeights(bidirectional.forwardLayer.weights)
            for row in rows(try model.predict(x)) {
                let merged = Array(row[0..<4]), forwardH = Array(row[4..<6]), forwardC = Array(row[6..<8])
                let backwardH = Array(row[8..<10]), alone = Array(row[12...])
                #expect(close(Array(merged[0..<2]), forwardH, 0) && close(Array(merged[2...]), backwardH, 0))
                #expect(close(forwardH + forwardC, alone.prefix(2) + alone.suffix(2), 1e-6), "\(row)")
            }
        }
    }
}

@Suite("Recurrent layers: recurrent dropout")
struct RecurrentDropoutTests {
    /// A linear SimpleRNN with one unit whose state after the first step is 1 and is then
    /// multiplied by the recurrent kernel 1 and recurrent dropout's mask (0 or 2 at rate ½)
    /// at each of the next three steps: 8 where the mask kept the state, else 0. Keras draws
    /// one mask per sequence, so half of the rows end at 8 (an eighth would with a mask per step).
    @Test("one mask per sequence, the same at every step, in training only, drawn alike by both backends")
    func oneMaskPerSequence() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        let count = 256
        var scalars = [Float](repeating: 0, count: count * 4)
        for row in 0..<count { scalars[row * 4] = 1 }
        let x = try Tensor(shape: [count, 4, 1], scalars: scalars), y = try Tensor.zeros(shape: [count, 1])
        var losses: [Float] = []
        for backend in Backend.allCases {
            Kiln.setRandomSeed(14)
            let rnn = SimpleRNN(1, activation: .linear, useBias: false, recurrentDropout: 0.5)
            let model = Sequential([Input(shape: [4, 1]), rnn])
            model.compile(optimizer: SGD(learningRate: 0), loss: .meanSquaredError, backend: backend)
            try rnn.setWeights([try Tensor(shape: [1, 1], scalars: [1]), try Tensor(shape: [1, 1], scalars: [1])])
            // Outside training the state is never dropped.
            #expect(try model.predict(x).scalars.allSatisfy { $0 == 1 })
            let loss = try #require(try model.trainOnBatch(x, y)["loss"])
            // The loss is 64 times the fraction of rows kept.
            let kept = loss / 64 * Float(count)
            #expect(Swift.abs(kept - kept.rounded()) < 1e-3, "\(loss)")
            #expect(kept >= 0.4 * Float(count) && kept <= 0.6 * Float(count), "\(kept) of \(count) rows kept")
            losses.append(loss)
        }
        #expect(losses[0] == losses[1])
    }

    @Test("LSTM, GRU and SimpleRNN with recurrent and input dropout train alike on both backends, in two halves too, and survive saving")
    func trainsAlike() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        let (x, y) = try randomSequences(40, steps: 5, features: 3, seed: 6)
        var weights: [[Tensor]] = [], losses: [Float] = []
        for backend in Backend.allCases {
            Kiln.setRandomSeed(3)
            let model = Sequential([
                Input(shape: [5, 3]), LSTM(4, returnSequences: true, dropout: 0.2, recurrentDropout: 0.3),
                GRU(3, returnSequences: true, goBackwards: true, recurrentDropout: 0.25),
                GRU(3, resetAfter: false, returnSequences: true, dropout: 0.1, recurrentDropout: 0.2),
                SimpleRNN(2, recurrentDropout: 0.4), Dense(1, activation: .sigmoid),
            ])
            model.compile(optimizer: Adam(learningRate: 0.01), loss: .binaryCrossentropy, backend: backend)
            // Batches of 20 rows run the loops on two halves of the batch.
            let history = try model.fit(x, y, batchSize: 20, epochs: 3, verbose: 0)
            weights.append(model.getWeights())
            losses.append(history.history["loss"]?.last ?? .nan)

            // Without training, the same weights predict the same with or without the dropout.
            let plain = Sequential([
                Input(shape: [5, 3]), LSTM(4, returnSequences: true), GRU(3, returnSequences: true, goBackwards: true),
                GRU(3, resetAfter: false, returnSequences: true), SimpleRNN(2), Dense(1, activation: .sigmoid),
            ])
            plain.compile(loss: .binaryCrossentropy, backend: backend)
            try plain.setWeights(model.getWeights())
            #expect(close(try plain.predict(x).scalars, try model.predict(x).scalars, 0))

            let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-rdropout-\(UUID()).kiln").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.save(to: path)
            let again = try Model.load(from: path)
            #expect(again.layers.compactMap { ($0 as? Recurrent)?.recurrentDropout } == [0.3, 0.25, 0.2, 0.4])
            #expect(again.layers.compactMap { ($0 as? Recurrent)?.dropout } == [0.2, 0, 0.1, 0])
        }
        #expect(Swift.abs(losses[0] - losses[1]) <= 1e-4 * Swift.abs(losses[1]))
        for (u, v) in zip(weights[0], weights[1]) {
            #expect(zip(u.scalars, v.scalars).allSatisfy { Swift.abs($0 - $1) <= 1e-4 * Swift.abs($1) + 1e-5 })
        }
    }

    @Test("a rate outside [0, 1) is an error naming the layer")
    func badRate() {
        expectModelError("lstm", "recurrentDropout must be in [0, 1), got 1.0") {
            Sequential([Input(shape: [2, 3]), LSTM(2, recurrentDropout: 1)])
        }
        expectModelError("gru", "recurrentDropout must be in [0, 1), got -0.5") {
            Sequential([Input(shape: [2, 3]), GRU(2, recurrentDropout: -0.5)])
        }
    }
}
