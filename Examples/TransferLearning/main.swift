// Transfer learning: features learned on one task help another that has few labels. A
// network learns digits 0-4 from every example; its feature layers are then frozen and only
// a new head learns digits 5-9 from 20 labelled examples each. Then Keras' fine-tuning
// recipe: unfreeze, compile again with a low learning rate, train a little more. The same
// network trained from scratch on those 100 examples is the comparison.
//
//   swift run -c release TransferLearning [--epochs 60] [--labels 100] [--fine-tune-rate 1e-4] [--data Examples/Data]
import Kiln

Kiln.run {
    Kiln.setRandomSeed(21)
    let epochs: Int = try Kiln.option("epochs", default: 60)
    let data: String = try Kiln.option("data", default: "Examples/Data")
    let labelled: Int = try Kiln.option("labels", default: 100)
    let table = try CSVTable(contentsOf: data + "/digits.csv.gz")
    var scaler = StandardScaler()
    let x = try scaler.fitTransform(table.tensor(columns: 0..<64))
    let labels = try table.column(64).scalars

    // Task A: digits 0-4, all of them. Task B: digits 5-9 (as classes 0-4), 20 labels each, the rest for testing.
    let a = labels.indices.filter { labels[$0] < 5 }, b = labels.indices.filter { labels[$0] >= 5 }
    let xA = try x.rows(at: a), yA = try Tensor(shape: [a.count], scalars: a.map { labels[$0] })
    let (xTestB, xFewB, yTestB, yFewB) = try trainTestSplit(
        x.rows(at: b), Tensor(shape: [b.count], scalars: b.map { labels[$0] - 5 }),
        testFraction: Double(labelled) / Double(b.count), seed: 21, stratify: true)
    print("task A: \(a.count) digits 0-4; task B: \(xFewB.shape[0]) labelled digits 5-9, \(xTestB.shape[0]) to test on")

    // Pretraining on task A.
    let features = [Dense(256, activation: .relu)]
    let pretrained = Sequential([Input(shape: [64])] + features + [Dense(32, activation: .relu), Dense(5, activation: .softmax)])
    pretrained.compile(optimizer: Adam(learningRate: 1e-3), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
    let historyA = try pretrained.fit(xA, yA, batchSize: 32, epochs: epochs, validationSplit: 0.2, verbose: 0)
    print("task A validation accuracy: \(historyA.history["val_accuracy"]!.last!)")

    // Transfer: the same feature layers, frozen, under a new head for task B.
    for layer in features { layer.trainable = false }
    let transferred = Sequential([Input(shape: [64])] + features + [Dense(32, activation: .relu), Dense(5, activation: .softmax)])
    transferred.compile(optimizer: Adam(learningRate: 1e-3), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
    transferred.summary()
    try transferred.fit(xFewB, yFewB, batchSize: 16, epochs: epochs, verbose: 0)
    let transferAccuracy = try transferred.evaluate(xTestB, yTestB, verbose: 0)["accuracy"]!

    // Fine-tuning, Keras' recipe: unfreeze the features, compile again with a low learning
    // rate (a new optimizer, starting from step 0), and train everything a little more.
    let fineTuneRate: Float = try Kiln.option("fine-tune-rate", default: 1e-4)
    for layer in features { layer.trainable = true }
    transferred.compile(optimizer: Adam(learningRate: fineTuneRate), loss: .sparseCategoricalCrossentropy,
                        metrics: [.accuracy])
    print("fine-tuning every layer at learning rate \(transferred.optimizer!.learningRate), "
          + "from step \(transferred.optimizer!.iterations)")
    try transferred.fit(xFewB, yFewB, batchSize: 16, epochs: Swift.max(1, epochs / 3), verbose: 0)
    let fineTunedAccuracy = try transferred.evaluate(xTestB, yTestB, verbose: 0)["accuracy"]!

    // From scratch: the same architecture, every layer trained on the 100 labels only.
    let scratch = Sequential([
        Input(shape: [64]),
        Dense(256, activation: .relu),
        Dense(32, activation: .relu),
        Dense(5, activation: .softmax),
    ])
    scratch.compile(optimizer: Adam(learningRate: 1e-3), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
    try scratch.fit(xFewB, yFewB, batchSize: 16, epochs: epochs, verbose: 0)
    let scratchAccuracy = try scratch.evaluate(xTestB, yTestB, verbose: 0)["accuracy"]!

    print("\ndigits 5-9 from 100 labels, test accuracy:")
    print("  frozen features from digits 0-4 + new head: \(transferAccuracy)")
    print("  then fine-tuned at a low rate:               \(fineTunedAccuracy)")
    print("  same network from scratch:                   \(scratchAccuracy)")
    print("RESULT transfer=\(transferAccuracy) finetuned=\(fineTunedAccuracy) scratch=\(scratchAccuracy)")
}
