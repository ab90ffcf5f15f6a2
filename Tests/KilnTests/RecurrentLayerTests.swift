import Foundation
import Kiln
import Testing

/// Plain-Swift recurrent cells, written from Keras' formulas, over one sample's
/// `[steps, features]` with row-major weights; the layers are checked against them.
enum ReferenceCell {
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }

    /// `x·w` for a `[k]` vector and a `[k, m]` matrix.
    static func product(_ x: [Float], _ w: [Float], columns m: Int) -> [Float] {
        (0..<m).map { j in x.indices.reduce(Float(0)) { $0 + x[$1] * w[$1 * m + j] } }
    }

    /// Every step's state (h) of an LSTM.
    static func lstm(_ x: [[Float]], kernel: [Float], recurrent: [Float], bias: [Float], units u: Int) -> [[Float]] {
        lstmStates(x, kernel: kernel, recurrent: recurrent, bias: bias, units: u).h
    }

    /// Every step's h of an LSTM, and its last c.
    static func lstmStates(_ x: [[Float]], kernel: [Float], recurrent: [Float], bias: [Float],
                           units u: Int) -> (h: [[Float]], c: [Float]) {
        var h = [Float](repeating: 0, count: u), c = h, out: [[Float]] = []
        for step in x {
            let xw = product(step, kernel, columns: 4 * u), hu = product(h, recurrent, columns: 4 * u)
            let z = (0..<(4 * u)).map { xw[$0] + hu[$0] + bias[$0] }
            for j in 0..<u {
                let i = sigmoid(z[j]), f = sigmoid(z[u + j]), g = Foundation.tanh(z[2 * u + j]), o = sigmoid(z[3 * u + j])
                c[j] = f * c[j] + i * g
                h[j] = o * Foundation.tanh(c[j])
            }
            out.append(h)
        }
        return (out, c)
    }

    /// Every step's state of a GRU with `reset_after` (bias `[2, 3u]`) or without (bias `[3u]`).
    static func gru(_ x: [[Float]], kernel: [Float], recurrent: [Float], bias: [Float], units u: Int, resetAfter: Bool) -> [[Float]] {
        var h = [Float](repeating: 0, count: u), out: [[Float]] = []
        for step in x {
            let xw = product(step, kernel, columns: 3 * u)
            let xb = (0..<(3 * u)).map { xw[$0] + bias[$0] }
            var next = h
            if resetAfter {
                let hu = product(h, recurrent, columns: 3 * u)
                let inner = (0..<(3 * u)).map { hu[$0] + bias[3 * u + $0] }
                for j in 0..<u {
                    let z = sigmoid(xb[j] + inner[j]), r = sigmoid(xb[u + j] + inner[u + j])
                    let candidate = Foundation.tanh(xb[2 * u + j] + r * inner[2 * u + j])
                    next[j] = z * h[j] + (1 - z) * candidate
                }
            } else {
                let hu = product(h, recurrent, columns: 3 * u)
                let z = (0..<u).map { sigmoid(xb[$0] + hu[$0]) }, r = (0..<u).map { sigmoid(xb[u + $0] + hu[u + $0]) }
                let reset = (0..<u).map { r[$0] * h[$0] }
                let stateKernel = (0..<u).flatMap { row in (0..<u).map { recurrent[row * 3 * u + 2 * u + $0] } }
                let rh = product(reset, stateKernel, columns: u)
                for j in 0..<u { next[j] = z[j] * h[j] + (1 - z[j]) * Foundation.tanh(xb[2 * u + j] + rh[j]) }
            }
            h = next
            out.append(h)
        }
        return out
    }
}

/// Random sequences `[count, steps, features]` and a label per sequence: whether its mean is positive.
func randomSequences(_ count: Int, steps: Int, features: Int, seed: UInt64) throws -> (x: Tensor, y: Tensor) {
    var generator = SeededGenerator(seed: seed)
    let values = (0..<(count * steps * features)).map { _ in generator.nextNormal() }
    let labels = (0..<count).map { i -> Float in
        let row = values[(i * steps * features)..<((i + 1) * steps * features)]
        return row.reduce(0, +) > 0 ? 1 : 0
    }
    return (try Tensor(shape: [count, steps, features], scalars: values), try Tensor(shape: [count], scalars: labels))
}

@Suite("Recurrent layers")
struct RecurrentLayerTests {
    @Test("SimpleRNN by hand: last output, every output, backwards")
    func simpleRNNByHand() throws {
        let x = try Tensor(shape: [1, 2, 1], scalars: [1, 2])
        for backend in Backend.allCases {
            func run(returnSequences: Bool, goBackwards: Bool) throws -> [Float] {
                let layer = SimpleRNN(1, returnSequences: returnSequences, goBackwards: goBackwards)
                let model = Sequential([Input(shape: [2, 1]), layer])
                model.compile(loss: .meanSquaredError, backend: backend)
                try layer.setWeights([Tensor([[0.5]]), Tensor([[0.5]]), Tensor([0])])
                return try model.predict(x).scalars
            }
            // h1 = tanh(0.5), h2 = tanh(2·0.5 + 0.5·h1); backwards: tanh(1), then tanh(0.5 + 0.5·tanh(1)).
            #expect(zip(try run(returnSequences: false, goBackwards: false), [0.842_886_1]).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
            #expect(zip(try run(returnSequences: true, goBackwards: false), [0.462_117_16, 0.842_886_1]).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
            #expect(zip(try run(returnSequences: true, goBackwards: true), [0.761_594_2, 0.706_818_4]).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
        }
    }

    @Test("LSTM and GRU follow Keras' formulas and gate order on both backends")
    func cellsMatchTheirFormulas() throws {
        let (x, _) = try randomSequences(3, steps: 5, features: 4, seed: 3)
        let samples = (0..<3).map { i in (0..<5).map { t in (0..<4).map { x.scalars[(i * 5 + t) * 4 + $0] } } }
        var generator = SeededGenerator(seed: 11)
        func weights(_ shape: [Int]) throws -> Tensor {
            try .randomUniform(shape: shape, lower: -0.6, upper: 0.6, using: &generator)
        }
        let u = 3
        let lstmWeights = [try weights([4, 4 * u]), try weights([u, 4 * u]), try weights([4 * u])]
        let gruWeights = [try weights([4, 3 * u]), try weights([u, 3 * u]), try weights([2, 3 * u])]
        let gruBeforeWeights = [try weights([4, 3 * u]), try weights([u, 3 * u]), try weights([3 * u])]
        for backend in Backend.allCases {
            let cases: [(Recurrent, [Tensor], ([[Float]]) -> [[Float]])] = [
                (LSTM(u, returnSequences: true), lstmWeights, {
                    ReferenceCell.lstm($0, kernel: lstmWeights[0].scalars, recurrent: lstmWeights[1].scalars,
                                       bias: lstmWeights[2].scalars, units: u)
                }),
                (GRU(u, returnSequences: true), gruWeights, {
                    ReferenceCell.gru($0, kernel: gruWeights[0].scalars, recurrent: gruWeights[1].scalars,
                                      bias: gruWeights[2].scalars, units: u, resetAfter: true)
                }),
                (GRU(u, resetAfter: false, returnSequences: true), gruBeforeWeights, {
                    ReferenceCell.gru($0, kernel: gruBeforeWeights[0].scalars, recurrent: gruBeforeWeights[1].scalars,
                                      bias: gruBeforeWeights[2].scalars, units: u, resetAfter: false)
                }),
            ]
            for (layer, values, reference) in cases {
                let model = Sequential([Input(shape: [5, 4]), layer])
                model.compile(loss: .meanSquaredError, backend: backend)
                try layer.setWeights(values)
                let got = try model.predict(x).scalars
                let expected = samples.flatMap { reference($0).flatMap { $0 } }
                #expect(got.count == expected.count)
                #expect(zip(got, expected).allSatisfy { Swift.abs($0 - $1) <= 2e-6 }, "\(layer) on \(backend)")
            }
        }
    }

    @Test("summaries give Keras' shapes and parameter counts; weights have Keras' names and layout")
    func summaryAndWeights() throws {
        let model = Sequential([
            Input(shape: [100, 32]), LSTM(64, returnSequences: true), GRU(64, returnSequences: true), SimpleRNN(64), Dense(1),
        ])
        let text = model.summaryText()
        for expected in ["(LSTM)", "(None, 100, 64)", "24,832", "(GRU)", "24,960", "(SimpleRNN)",
                         "(None, 64)", "8,256", "Total params: 58,113"] {
            #expect(text.contains(expected), "\(expected) not in\n\(text)")
        }
        let lstm = try #require(model.layers.first as? LSTM)
        #expect(lstm.variables.map(\.name) == ["kernel", "recurrent_kernel", "bias"])
        #expect(lstm.variables.map(\.shape) == [[32, 256], [64, 256], [256]])
        // unit_forget_bias: the forget gate's block starts at one, the others at zero.
        let bias = lstm.weights[2].scalars
        #expect(bias[0..<64].allSatisfy { $0 == 0 } && bias[64..<128].allSatisfy { $0 == 1 } && bias[128...].allSatisfy { $0 == 0 })
        // The recurrent kernel starts orthogonal: U·Uᵀ = I for [64, 256].
        let recurrent = lstm.weights[1].scalars
        for (i, j) in [(0, 0), (0, 1), (5, 5), (7, 40)] {
            let dot = (0..<256).reduce(Float(0)) { $0 + recurrent[i * 256 + $1] * recurrent[j * 256 + $1] }
            #expect(Swift.abs(dot - (i == j ? 1 : 0)) < 1e-5)
        }
    }

    @Test("initial states computed in the model start the loop, and train alike on both backends")
    func initialStates() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        let (x, y) = try randomSequences(8, steps: 5, features: 3, seed: 2)
        var results: [[Float]] = []
        for backend in Backend.allCases {
            Kiln.setRandomSeed(5)
            let input = Input(shape: [5, 3])
            let summary = GlobalAveragePooling1D()(input)
            let h0 = Dense(4, activation: .tanh)(summary), c0 = Dense(4)(summary)
            let lstm = LSTM(4)
            let model = Model(inputs: input, outputs: Dense(1, activation: .sigmoid)(lstm([input, h0, c0])))
            model.compile(optimizer: Adam(learningRate: 0.05), loss: .binaryCrossentropy, backend: backend)
            let start = model.getWeights()
            #expect(lstm.variables.map(\.shape) == [[3, 16], [4, 16], [16]])
            try model.fit(x, y, batchSize: 4, epochs: 2, verbose: 0)
            let after = model.getWeights()
            // The Dense layers that make the initial states are trained through the loop.
            #expect(zip(start[0].scalars, after[0].scalars).contains { $0 != $1 })
            results.append(try model.predict(x).scalars)
        }
        #expect(zip(results[0], results[1]).allSatisfy { Swift.abs($0 - $1) <= 1e-5 })
        let input = Input(shape: [5, 3])
        let summary = GlobalAveragePooling1D()(input)
        expectModelError("initial state 1 must be [4] per sample", "(None, 3)") {
            Model(inputs: input, outputs: LSTM(4)([input, Dense(4)(summary), summary]))
        }
        expectModelError("takes a sequence, or a sequence and its 1 initial state(s)") {
            Model(inputs: input, outputs: GRU(3)([input, Dense(3)(summary), Dense(3)(summary)]))
        }
        expectModelError("takes a sequence, or a sequence and 2 initial states (the forward layer's 1, then the backward layer's)") {
            Model(inputs: input, outputs: Bidirectional(GRU(3))([input, Dense(3)(summary)]))
        }
    }

    @Test("a sequence of the wrong rank is an error naming the layer")
    func badInput() throws {
        expectModelError("lstm", "sequences [steps, features]", "(None, 8)") { Sequential([Input(shape: [8]), LSTM(4)]) }
        expectModelError("gru", "sequences [steps, features]") { Sequential([Input(shape: [2, 3, 4]), GRU(4)]) }
        expectModelError("units must be positive") { Sequential([Input(shape: [2, 3]), SimpleRNN(0)]) }
        expectModelError("dropout must be in [0, 1)") { Sequential([Input(shape: [2, 3]), LSTM(2, dropout: 1)]) }
    }

    @Test("stacked and backwards networks, with input dropout, train alike on both backends and survive saving")
    func trainsAndSaves() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        let (x, y) = try randomSequences(32, steps: 6, features: 3, seed: 5)
        var weights: [[Tensor]] = [], losses: [Float] = []
        for backend in Backend.allCases {
            Kiln.setRandomSeed(4)
            let model = Sequential([
                Input(shape: [6, 3]), GRU(5, returnSequences: true, goBackwards: true, dropout: 0.3), LSTM(4, returnSequences: true),
                SimpleRNN(3, dropout: 0.2), Dense(1, activation: .sigmoid),
            ])
            model.compile(optimizer: Adam(learningRate: 0.01), loss: .binaryCrossentropy, backend: backend)
            let history = try model.fit(x, y, batchSize: 8, epochs: 3, verbose: 0)
            weights.append(model.getWeights())
            losses.append(history.history["loss"]?.last ?? .nan)

            let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-recurrent-\(UUID()).kiln").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.save(to: path)
            let again = try Model.load(from: path)
            #expect(again.layers.map(\.description) == model.layers.map(\.description))
            #expect(zip(try again.predict(x).scalars, try model.predict(x).scalars).allSatisfy { Swift.abs($0 - $1) <= 1e-6 })
        }
        #expect(Swift.abs(losses[0] - losses[1]) <= 1e-4 * Swift.abs(losses[1]))
        for (u, v) in zip(weights[0], weights[1]) {
            #expect(zip(u.scalars, v.scalars).allSatisfy { Swift.abs($0 - $1) <= 1e-4 * Swift.abs($1) + 1e-5 })
        }
    }
}

@Suite("Masking: Embedding(maskZero:) and recurrent layers")
struct RecurrentMaskingTests {
    @Test("a masked step keeps the state, on both backends, also backwards and stacked")
    func maskedStepsKeepTheState() throws {
        // Padding ids (0) before, between and after the data: the result must equal the
        // same network run on the unpadded sequence.
        let padded = try Tensor(shape: [2, 6], scalars: [0, 0, 3, 1, 2, 0, 4, 0, 4, 2, 0, 0])
        let plain = [[Float(3), 1, 2], [4, 4, 2]]
        for backend in Backend.allCases {
            for (goBackwards, stacked) in [(false, false), (true, false), (false, true)] {
                Kiln.setRandomSeed(9)
                func network(steps: Int, maskZero: Bool) -> Sequential {
                    var elements: [any SequentialElement] = [Input(shape: [steps]), Embedding(inputDim: 5, outputDim: 3, maskZero: maskZero)]
                    if stacked { elements.append(GRU(4, returnSequences: true)) }
                    elements += [LSTM(3, goBackwards: goBackwards), Dense(2)]
                    return Sequential(elements)
                }
                let masked = network(steps: 6, maskZero: true)
                masked.compile(loss: .meanSquaredError, backend: backend)
                let reference = network(steps: 3, maskZero: false)
                reference.compile(loss: .meanSquaredError, backend: backend)
                try reference.setWeights(masked.getWeights())
                let got = try masked.predict(padded).scalars
                let expected = try reference.predict(try Tensor(shape: [2, 3], scalars: plain.flatMap { $0 })).scalars
                #expect(zip(got, expected).allSatisfy { Swift.abs($0 - $1) <= 1e-6 },
                        "\(backend), backwards \(goBackwards), stacked \(stacked): \(got) vs \(expected)")
            }
        }
    }

    @Test("a masked batch large enough for the loop to run on two halves trains alike on both backends")
    func maskedHalves() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        var generator = SeededGenerator(seed: 21)
        let sequences = (0..<40).map { _ in (0..<(1 + generator.nextIndex(below: 7))).map { _ in 1 + generator.nextIndex(below: 6) } }
        let x = try padSequences(sequences, maxLength: 7, padding: .post)
        let y = try Tensor(shape: [40, 1], scalars: sequences.map { Float($0.count % 2) })
        var weights: [[Tensor]] = []
        for backend in Backend.allCases {
            Kiln.setRandomSeed(6)
            let model = Sequential([Input(shape: [7]), Embedding(inputDim: 7, outputDim: 4, maskZero: true),
                                    Bidirectional(LSTM(3, returnSequences: true)), GRU(3, goBackwards: true), Dense(1, activation: .sigmoid)])
            model.compile(optimizer: Adam(learningRate: 0.02), loss: .binaryCrossentropy, backend: backend)
            try model.fit(x, y, batchSize: 40, epochs: 3, shuffle: false, verbose: 0)
            weights.append(model.getWeights())
        }
        for (u, v) in zip(weights[0], weights[1]) {
            #expect(zip(u.scalars, v.scalars).allSatisfy { Swift.abs($0 - $1) <= 1e-4 * Swift.abs($1) + 1e-5 })
        }
    }

    @Test("masked networks train alike on both backends, and the mask survives saving")
    func maskedTraining() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        let x = try padSequences([[1, 2, 3], [4], [2, 2], [3, 1, 4, 1]], maxLength: 5)
        let y = try Tensor(shape: [4, 1], scalars: [1, 0, 1, 0])
        var losses: [Float] = []
        for backend in Backend.allCases {
            Kiln.setRandomSeed(2)
            let model = Sequential([Input(shape: [5]), Embedding(inputDim: 5, outputDim: 4, maskZero: true),
                                    SimpleRNN(3, returnSequences: true), GRU(2), Dense(1, activation: .sigmoid)])
            model.compile(optimizer: Adam(learningRate: 0.05), loss: .binaryCrossentropy, backend: backend)
            losses.append(try model.fit(x, y, batchSize: 2, epochs: 3, shuffle: false, verbose: 0).history["loss"]?.last ?? .nan)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-masked-\(UUID()).kiln").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.save(to: path)
            let again = try Model.load(from: path)
            #expect(zip(try again.predict(x).scalars, try model.predict(x).scalars).allSatisfy { Swift.abs($0 - $1) <= 1e-6 })
        }
        #expect(Swift.abs(losses[0] - losses[1]) <= 1e-5 * Swift.abs(losses[1]) + 1e-6, "\(losses)")
    }
}

@Suite("Sequence data: padSequences and timeseriesWindows")
struct SequenceDataTests {
    @Test func padsAndCutsLikeKeras() throws {
        let sequences: [[Int]] = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10]]
        #expect(try padSequences(sequences).scalars == [0, 0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 7, 8, 9, 10])
        #expect(try padSequences(sequences, maxLength: 4).scalars == [0, 1, 2, 3, 0, 0, 4, 5, 7, 8, 9, 10])
        #expect(try padSequences(sequences, maxLength: 4, padding: .post, truncating: .post, value: -1).scalars
                == [1, 2, 3, -1, 4, 5, -1, -1, 6, 7, 8, 9])
        #expect(try padSequences([[Int]]()).shape == [0, 0])
        expectError("maxLength must not be negative") { _ = try padSequences(sequences, maxLength: -1) }
    }

    @Test func windowsLikeKerasTimeseriesDatasetFromArray() throws {
        // Keras: timeseries_dataset_from_array(data=range(10), targets=data[3:], sequence_length=3)
        let data = try Tensor(shape: [10, 1], scalars: (0..<10).map(Float.init))
        let (x, y) = try timeseriesWindows(data, targets: try Tensor(shape: [7, 1], scalars: (3..<10).map(Float.init)), sequenceLength: 3)
        #expect(x.shape == [7, 3, 1] && y.shape == [7, 1])
        #expect(Array(x.scalars.prefix(6)) == [0, 1, 2, 1, 2, 3] && y.scalars == [3, 4, 5, 6, 7, 8, 9])
        // Stride 2, sampling rate 2: windows [0,2,4], [2,4,6], [4,6,8].
        let (strided, none) = try timeseriesWindows(data, sequenceLength: 3, sequenceStride: 2, samplingRate: 2)
        #expect(strided.scalars == [0, 2, 4, 2, 4, 6, 4, 6, 8] && none.scalarCount == 0)
        expectError("a window spans 11 rows", "the series has 10") { _ = try timeseriesWindows(data, sequenceLength: 11) }
        expectError("must be at least 1") { _ = try timeseriesWindows(data, sequenceLength: 2, sequenceStride: 0) }
    }
}

@Suite("TextVectorization")
struct TextVectorizationTests {
    @Test func standardizesSplitsAndCountsLikeKeras() throws {
        let vectorize = TextVectorization(maxTokens: 6, outputSequenceLength: 5)
        vectorize.adapt(["The cat sat.", "the CAT, the dog!", "a dog's day"])
        // the ×3, cat ×2, then dog, dogs, day, sat, a once each: ties in decreasing order.
        #expect(vectorize.vocabulary == ["", "[UNK]", "the", "cat", "sat", "dogs"])
        #expect(vectorize.tokens("It's  a\tDOG-day!") == ["its", "a", "dogday"])
        let ids = try vectorize(["the cat sat on the mat", "cat", ""])
        #expect(ids.shape == [3, 5])
        #expect(ids.scalars == [2, 3, 4, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func isSavedWithTheModel() throws {
        let vectorize = TextVectorization(outputSequenceLength: 4, vocabulary: ["good", "bad"])
        let model = Sequential([Input(shape: [4]), vectorize, Embedding(inputDim: 4, outputDim: 2, maskZero: true), LSTM(2), Dense(1)])
        model.compile(loss: .meanSquaredError)
        let x = try vectorize(["good good", "bad", "so good"])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-text-\(UUID()).kiln").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let again = try Model.load(from: path)
        let loaded = try #require(again.layers.first as? TextVectorization)
        #expect(loaded.vocabulary == ["", "[UNK]", "good", "bad"])
        #expect(try loaded(["so good"]) == x.rows(2..<3))
        #expect(try again.predict(x) == model.predict(x))
    }

    @Test func badVocabulariesAreErrors() throws {
        expectError("token \"a\" appears twice") { _ = try TextVectorization(outputSequenceLength: 2, vocabulary: ["a", "b", "a"])(["a"]) }
        expectError("vocabulary entry 3 is empty") { _ = try TextVectorization(outputSequenceLength: 2, vocabulary: ["a", ""])(["a"]) }
        expectModelError("takes the ids of texts, [3] per sample") {
            Sequential([Input(shape: [4]), TextVectorization(outputSequenceLength: 3)])
        }
    }
}

@Suite("Bidirectional")
struct BidirectionalTests {
    @Test("each merge mode combines a forward run and a backward run of the same layer")
    func mergesBothDirections() throws {
        let (x, _) = try randomSequences(3, steps: 4, features: 2, seed: 8)
        for backend in Backend.allCases {
            for mode in [Bidirectional.MergeMode.concat, .sum, .mul, .ave] {
                for sequences in [false, true] {
                    let both = Bidirectional(GRU(3, returnSequences: sequences), mergeMode: mode)
                    let model = Sequential([Input(shape: [4, 2]), both])
                    model.compile(loss: .meanSquaredError, backend: backend)
                    let forward = Sequential([Input(shape: [4, 2]), GRU(3, returnSequences: sequences)])
                    let backward = Sequential([Input(shape: [4, 2]), GRU(3, returnSequences: sequences, goBackwards: true)])
                    forward.compile(loss: .meanSquaredError, backend: backend)
                    backward.compile(loss: .meanSquaredError, backend: backend)
                    let weights = model.getWeights()
                    #expect(weights.count == 6)
                    try forward.setWeights(Array(weights.prefix(3)))
                    try backward.setWeights(Array(weights.suffix(3)))
                    let f = try forward.predict(x).scalars
                    var b = try backward.predict(x).scalars
                    if sequences {  // back in the input's step order
                        var aligned: [Float] = []
                        for i in 0..<3 {
                            for t in (0..<4).reversed() {
                                let start: Int = (i * 4 + t) * 3
                                aligned += b[start..<(start + 3)]
                            }
                        }
                        b = aligned
                    }
                    let rows = f.count / 3
                    let expected: [Float] = (0..<rows).flatMap { r -> [Float] in
                        let u = Array(f[(r * 3)..<(r * 3 + 3)]), v = Array(b[(r * 3)..<(r * 3 + 3)])
                        switch mode {
                        case .concat: return u + v
                        case .sum: return zip(u, v).map { $0 + $1 }
                        case .mul: return zip(u, v).map { $0 * $1 }
                        case .ave: return zip(u, v).map { ($0 + $1) * 0.5 }
                        }
                    }
                    let got = try model.predict(x).scalars
                    #expect(got.count == expected.count && zip(got, expected).allSatisfy { Swift.abs($0 - $1) <= 1e-6 },
                            "\(mode) sequences \(sequences) on \(backend)")
                }
            }
        }
    }

    @Test("summary, weight names and saving")
    func summaryAndSaving() throws {
        let model = Sequential([Input(shape: [10, 8]), Bidirectional(LSTM(16)), Dense(1)])
        let text = model.summaryText()
        for expected in ["bidirectional", "(Bidirectiona", "(None, 32)", "3,200", "Total params: 3,233"] {
            #expect(text.contains(expected), "\(expected) not in\n\(text)")
        }
        let names = model.variables.map(\.path)
        #expect(names.count == 8 && names[0].contains("/forward_lstm") && names[0].hasSuffix("/kernel")
                && names[3].contains("/backward_lstm") && names[3].hasSuffix("/kernel"), "\(names)")
        model.compile(loss: .meanSquaredError)
        let (x, _) = try randomSequences(2, steps: 10, features: 8, seed: 1)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bidirectional-\(UUID()).kiln").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let again = try Model.load(from: path)
        #expect(again.variables.map(\.path) == names)
        #expect(try again.predict(x) == model.predict(x))
    }
}

@Suite("TimeDistributed")
struct TimeDistributedTests {
    @Test("a layer applied to every step equals the layer applied to each step alone, on both backends")
    func appliesTheLayerAtEveryStep() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        let (x, _) = try randomSequences(5, steps: 4, features: 3, seed: 4)
        var losses: [Float] = []
        for backend in Backend.allCases {
            Kiln.setRandomSeed(3)
            let dense = Dense(2, activation: .tanh)
            let model = Sequential([Input(shape: [4, 3]), TimeDistributed(dense), LSTM(2), Dense(1)])
            model.compile(optimizer: Adam(learningRate: 0.05), loss: .meanSquaredError, backend: backend)
            #expect(model.layers[0].variables.map(\.shape) == [[3, 2], [2]])
            // The wrapped Dense alone, on one step.
            let single = Sequential([Input(shape: [3]), Dense(2, activation: .tanh)])
            single.compile(loss: .meanSquaredError, backend: backend)
            try single.setWeights(dense.weights)
            let probe = Sequential([Input(shape: [4, 3]), model.layers[0]])
            probe.compile(loss: .meanSquaredError, backend: backend)
            let all = try probe.predict(x).scalars
            let values = x.scalars
            for t in 0..<4 {
                var rows: [Float] = [], together: [Float] = []
                for i in 0..<5 {
                    let at: Int = i * 4 + t
                    rows += values[(at * 3)..<(at * 3 + 3)]
                    together += all[(at * 2)..<(at * 2 + 2)]
                }
                let alone = try single.predict(try Tensor(shape: [5, 3], scalars: rows)).scalars
                #expect(zip(alone, together).allSatisfy { Swift.abs($0 - $1) <= 1e-6 }, "step \(t) on \(backend)")
            }
            let y = try Tensor(shape: [5, 1], scalars: [0.5, -0.5, 1, 0, 0.25])
            losses.append(try model.fit(x, y, batchSize: 5, epochs: 3, verbose: 0).history["loss"]?.last ?? .nan)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-distributed-\(UUID()).kiln").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.save(to: path)
            // On the same backend: the two backends' matrix products may round differently.
            let again = try Model.load(from: path)
            again.compile(loss: .meanSquaredError, backend: backend)
            #expect(try again.predict(x) == model.predict(x), "\(backend)")
        }
        #expect(Swift.abs(losses[0] - losses[1]) <= 1e-5 * Swift.abs(losses[1]) + 1e-6, "\(losses)")
    }

    @Test("frames of a video through a convolution and pooling, alike on both backends")
    func framesThroughAConvolution() throws {
        let conv = Conv2D(2, kernelSize: [2], activation: .relu)
        let video = Sequential([Input(shape: [3, 5, 5, 1]), TimeDistributed(conv), TimeDistributed(GlobalAveragePooling2D())])
        #expect(video.layers[0].description.hasSuffix("(TimeDistributed)") && video.summaryText().contains("(None, 3, 4, 4, 2)"))
        var generator = SeededGenerator(seed: 6)
        let frames = try Tensor.randomUniform(shape: [2, 3, 5, 5, 1], lower: 0, upper: 1, using: &generator)
        var results: [Tensor] = []
        for backend in Backend.allCases {
            video.compile(loss: .meanSquaredError, backend: backend)
            results.append(try video.predict(frames))
        }
        #expect(results[0].shape == [2, 3, 2])
        #expect(zip(results[0].scalars, results[1].scalars).allSatisfy { Swift.abs($0 - $1) <= 1e-6 })
    }

    @Test("a wrapped layer with randomness or statistics in training is an error naming it")
    func statefulLayersAreErrors() throws {
        let model = Sequential([Input(shape: [4, 3]), TimeDistributed(Dropout(0.5)), LSTM(2)])
        model.compile(loss: .meanSquaredError)
        let (x, _) = try randomSequences(2, steps: 4, features: 3, seed: 1)
        expectError("TimeDistributed(dropout", "draws random numbers") { try model.trainOnBatch(x, try Tensor(shape: [2, 2], repeating: Float(0))) }
        #expect(try model.predict(x).shape == [2, 2])
    }
}
