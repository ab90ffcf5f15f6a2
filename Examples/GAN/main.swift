// A generative adversarial network (Keras' "customizing what happens in fit" GAN): a
// generator learns to draw 8x8 handwritten digits from random noise by fooling a
// discriminator, which learns at the same time to tell its drawings from real digits. Each
// side's update is a custom training step, compiled to one native call. A digit classifier
// trained on the real digits then reads the drawings: how sure it is, and which digits it sees.
//
//   swift run -c release GAN [--epochs 200] [--data Examples/Data]
import Kiln

Kiln.run {
    Kiln.setRandomSeed(7)
    let epochs: Int = try Kiln.option("epochs", default: 200)
    let data: String = try Kiln.option("data", default: "Examples/Data")
    let latent = 16, batchSize = 64

    // 1797 digits, pixels 0-16 scaled to [-1, 1], the generator's tanh range.
    let table = try CSVTable(contentsOf: data + "/digits.csv.gz")
    let real = try Tensor(shape: [table.rowCount, 64], scalars: table.tensor(columns: 0..<64).scalars.map { $0 / 8 - 1 })
    let labels = try table.column(64)
    print("\(table.rowCount) real digits from \(table.source)")

    let generator = Sequential([
        Input(shape: [latent]),
        Dense(64, activation: .leakyRelu(negativeSlope: 0.2)),
        Dense(128, activation: .leakyRelu(negativeSlope: 0.2)),
        Dense(64, activation: .tanh),
    ], name: "generator")
    let discriminator = Sequential([
        Input(shape: [64]),
        Dense(128, activation: .leakyRelu(negativeSlope: 0.2)),
        Dropout(0.3),
        Dense(64, activation: .leakyRelu(negativeSlope: 0.2)),
        Dense(1),
    ], name: "discriminator")
    generator.summary()
    discriminator.summary()

    // Scores are logits; real digits are labelled 0.9 (one-sided label smoothing), drawings 0.
    let crossentropy = Loss.binaryCrossentropy(fromLogits: true)
    func filled(_ value: Float, like node: Node) throws -> Node { try broadcast(node.graph.constant(value), to: node.shape) }
    let discriminatorStep = try TrainingStep { s in
        let images = try s.input("images", shape: [64]), noise = try s.input("noise", shape: [latent])
        let drawn = try s.call(generator, noise, training: false)
        let realScore = try s.call(discriminator, images), drawnScore = try s.call(discriminator, drawn)
        let loss = try crossentropy(filled(0.9, like: realScore), realScore) + crossentropy(filled(0, like: drawnScore), drawnScore)
        try s.minimize(loss, over: discriminator, with: Adam(learningRate: 2e-4, beta1: 0.5))
        s.log("d_loss", loss)
    }
    let generatorStep = try TrainingStep { s in
        let noise = try s.input("noise", shape: [latent])
        let score = try s.call(discriminator, s.call(generator, noise), training: false)
        // The generator wins when its drawings are scored as real.
        let loss = try crossentropy(filled(1, like: score), score)
        try s.minimize(loss, over: generator, with: Adam(learningRate: 2e-4, beta1: 0.5))
        s.log("g_loss", loss)
    }
    func noise(_ count: Int) throws -> Tensor {
        try Kiln.withRandomGenerator { try Tensor.randomNormal(shape: [count, latent], using: &$0) }
    }

    var order = Array(0..<real.shape[0])
    for epoch in 1...epochs {
        try Kiln.withRandomGenerator { order.shuffle(using: &$0) }
        var dLoss: Float = 0, gLoss: Float = 0, batches = 0
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let rows = Array(order[start..<min(start + batchSize, order.count)])
            dLoss += try discriminatorStep.run(["images": real.rows(at: rows), "noise": noise(rows.count)])["d_loss"]!
            gLoss += try generatorStep.run(["noise": noise(rows.count)])["g_loss"]!
            batches += 1
        }
        if epoch == 1 || epoch % max(1, epochs / 10) == 0 {
            print("epoch \(epoch)/\(epochs): discriminator loss \(fixed(dLoss / Float(batches))), "
                  + "generator loss \(fixed(gLoss / Float(batches)))")
        }
    }

    // A classifier of real digits reads 500 drawings.
    let classifier = Sequential([Input(shape: [64]), Dense(64, activation: .relu), Dense(10, activation: .softmax)])
    classifier.compile(optimizer: Adam(learningRate: 1e-3), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
    try classifier.fit(real, labels, batchSize: 32, epochs: 30, verbose: 0)
    let drawings = try generator.predict(noise(500))
    let probabilities = try classifier.predict(drawings)
    let classes = probabilities.argmaxRows()
    func meanConfidence(_ probabilities: Tensor) -> Float {
        let best = probabilities.argmaxRows(), scores = probabilities.scalars
        return best.indices.reduce(Float(0)) { $0 + scores[$1 * 10 + best[$1]] } / Float(best.count)
    }
    let confidence = meanConfidence(probabilities)
    // The comparison: images of uniform noise in the same range.
    let noiseImages = try Kiln.withRandomGenerator { try Tensor.randomUniform(shape: [500, 64], lower: -1, upper: 1, using: &$0) }
    let noiseConfidence = meanConfidence(try classifier.predict(noiseImages))
    var counts = [Int](repeating: 0, count: 10)
    for digit in classes { counts[digit] += 1 }
    print("\nthe classifier reads the 500 drawings as: " + (0..<10).map { "\($0): \(counts[$0])" }.joined(separator: ", "))
    print("its mean confidence: \(fixed(confidence)); on images of noise: \(fixed(noiseConfidence)) (on the real digits it "
          + "was trained on: \(fixed(try classifier.evaluate(real, labels, verbose: 0)["accuracy"]!)) accuracy)")
    let shown = try Tensor(shape: [40, 8, 8], scalars: drawings.rows(0..<40).scalars.map { ($0 + 1) / 2 })
    try ImageGrid.write(shown, captions: (0..<40).map { "looks like \(classes[$0])" }, columns: 10, count: 40,
                        to: "gan-digits.svg")
    print("40 drawings: gan-digits.svg")
    print("RESULT confidence=\(fixed(confidence)) noise_confidence=\(fixed(noiseConfidence)) classes=\(counts.filter { $0 >= 10 }.count) "
          + "largest_share=\(fixed(Float(counts.max()!) / 500))")
}

func fixed(_ value: Float) -> String { String(Double(Int((Double(value) * 10_000).rounded())) / 10_000) }
