// Text: a character-level LSTM learns to write like the King James Version of Genesis
// (public domain), then writes new text at several temperatures: low ones repeat the likeliest
// characters, high ones take more risks.
//
//   swift run -c release TextGeneration [--save text.kiln] [--epochs 10] [--characters 200000] [--units 128]
//                                       [--length 40] [--data Examples/Data]
import Foundation
import Kiln

Kiln.run {
    Kiln.setRandomSeed(7)
    let epochs: Int = try Kiln.option("epochs", default: 10)
    let limit: Int = try Kiln.option("characters", default: 200_000)
    let units: Int = try Kiln.option("units", default: 128)
    let length: Int = try Kiln.option("length", default: 40)
    let data: String = try Kiln.option("data", default: "Examples/Data")
    let save: String = try Kiln.option("save", default: "")

    let text = Array(try readText(contentsOf: data + "/genesis_kjv.txt.gz").prefix(limit))
    let alphabet = Array(Set(text)).sorted()
    let index = Dictionary(uniqueKeysWithValues: alphabet.enumerated().map { ($1, $0) })
    let ids = text.map { Float(index[$0] ?? 0) }
    print("\(text.count) characters of Genesis (KJV), \(alphabet.count) different ones")

    // Every window of `length` characters (3 apart) and the character after it; the last 10% held out.
    let (x, y) = try timeseriesWindows(try Tensor(shape: [ids.count, 1], scalars: ids),
                                       targets: try Tensor(shape: [ids.count - length, 1], scalars: Array(ids[length...])),
                                       sequenceLength: length, sequenceStride: 3)
    let windows = try x.reshaped(to: [x.shape[0], length])
    let split = windows.shape[0] * 9 / 10
    let xTrain = try windows.rows(0..<split), yTrain = try y.rows(0..<split)
    let xTest = try windows.rows(split..<windows.shape[0]), yTest = try y.rows(split..<y.shape[0])

    let model = Sequential([
        Input(shape: [length]),
        Embedding(inputDim: alphabet.count, outputDim: 32),
        LSTM(units),
        Dense(alphabet.count, activation: .softmax),
    ])
    model.compile(optimizer: Adam(learningRate: 3e-3), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
    model.summary()
    try model.fit(xTrain, yTrain, batchSize: 128, epochs: epochs, verbose: 1)

    // Held-out cross-entropy, against knowing only how often each character occurs.
    let scores = try model.evaluate(xTest, yTest, verbose: 0)
    let counts = ids.reduce(into: [Float](repeating: 0, count: alphabet.count)) { $0[Int($1)] += 1 }
    let unigram = -counts.map { $0 / Float(ids.count) }.filter { $0 > 0 }.map { $0 * log($0) }.reduce(0, +)
    let loss = scores["loss"] ?? .nan
    print("\nheld-out text: \(String(format: "%.3f", loss)) nats per character (character frequencies alone: "
          + "\(String(format: "%.3f", unigram))), next character right \(String(format: "%.1f", 100 * (scores["accuracy"] ?? 0)))%")

    // New text from a seed taken from the held-out part.
    var generator = SeededGenerator(seed: 11)
    let seed = Array(text[(split * 3)..<(split * 3 + length)])
    for temperature: Float in [0.2, 0.5, 1.0] {
        var window = seed.map { Float(index[$0] ?? 0) }
        var written = ""
        for _ in 0..<240 {
            let probabilities = try model.predict(try Tensor(shape: [1, length], scalars: window)).scalars
            let weights = probabilities.map { pow(Swift.max($0, 1e-12), 1 / temperature) }
            var pick = generator.nextUniform() * weights.reduce(0, +), next = weights.count - 1
            for (k, w) in weights.enumerated() {
                pick -= w
                if pick < 0 { next = k; break }
            }
            written.append(alphabet[next])
            window = Array(window.dropFirst()) + [Float(next)]
        }
        print("\ntemperature \(temperature): \"\(String(seed))\" ...\n\(written.replacingOccurrences(of: "\n", with: " "))")
    }
    if !save.isEmpty {
        try model.save(to: save)
        print("\nsaved the model (it takes \(length) character ids) to \(save); `swift run kiln export \(save) --c DIR` writes it as C")
    }
    print("RESULT loss=\(String(format: "%.4f", loss)) unigram=\(String(format: "%.4f", unigram))")
}
