// Images: the classic Keras convnet on Fashion-MNIST (28x28 photos of clothing, ten classes),
// about 90% of the test images right after 5 epochs.
//
//   swift run -c release FashionMNIST [--epochs 5] [--data /usr/share/datasets/fashion-mnist]
//                                     [--samples 60000] [--seed 0] [--save fashion.kiln]
//
// The data comes from Debian's dataset-fashion-mnist package (tools/bootstrap installs it).
import Kiln

Kiln.run {
    let epochs: Int = try Kiln.option("epochs", default: 5)
    let data: String = try Kiln.option("data", default: Datasets.fashionMNISTDirectory)
    let samples: Int = try Kiln.option("samples", default: 60_000)
    let seed: UInt64 = try Kiln.option("seed", default: 0)
    let save: String = try Kiln.option("save", default: "")
    Kiln.setRandomSeed(seed)

    // Pixels 0-255 scaled to [0, 1], with a channel axis: [count, 28, 28, 1].
    let (train, test) = try Datasets.fashionMNIST(directory: data)
    func images(_ x: Tensor, _ count: Int) throws -> Tensor {
        let shape = [count, x.shape[1], x.shape[2], 1]
        return try Tensor(shape: shape, scalars: x.scalars.prefix(count * x.shape[1] * x.shape[2]).map { $0 / 255 })
    }
    let trainCount = min(samples, train.x.shape[0]), testCount = min(max(samples / 6, 1), test.x.shape[0])
    let xTrain = try images(train.x, trainCount), yTrain = try train.y.rows(0..<trainCount)
    let xTest = try images(test.x, testCount), yTest = try test.y.rows(0..<testCount)
    print("\(trainCount) training and \(testCount) test images of \(xTrain.shape[1])x\(xTrain.shape[2]) pixels from \(data)")

    let model = Sequential([
        Input(shape: [28, 28, 1]),
        Conv2D(32, kernelSize: [3, 3], activation: .relu),
        MaxPooling2D(poolSize: [2, 2]),
        Conv2D(64, kernelSize: [3, 3], activation: .relu),
        MaxPooling2D(poolSize: [2, 2]),
        Flatten(),
        Dropout(0.5),
        Dense(10, activation: .softmax),
    ])
    model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
    model.summary()

    let timer = EpochTimer()
    let history = try model.fit(xTrain, yTrain, batchSize: 128, epochs: epochs, validationSplit: 0.1, verbose: 1,
                                callbacks: [timer])
    try history.plot(to: "fashion-history.svg", title: "Fashion-MNIST: loss and accuracy per epoch")

    let scores = try model.evaluate(xTest, yTest, verbose: 0)
    let accuracy = scores["accuracy"] ?? 0
    print("\ntest accuracy: \(fixed(accuracy)) (\(testCount) images never seen in training); "
          + "seconds per epoch: \(timer.seconds.map { fixed(Float($0)) }.joined(separator: ", "))")

    // The first test images with what the network says, the wrong ones in red.
    let predicted = try model.predict(xTest).argmaxRows()
    let truth = yTest.scalars.map { Int($0) }
    let names = Datasets.fashionMNISTClasses
    let shown = min(40, testCount)
    try ImageGrid.write(try xTest.rows(0..<shown), captions: (0..<shown).map { "\(names[predicted[$0]])\n(true: \(names[truth[$0]]))" },
                        marked: (0..<shown).map { predicted[$0] != truth[$0] }, columns: 8, count: shown, to: "fashion-predictions.svg")
    print("the first \(shown) test images with the predicted class (wrong ones framed in red): fashion-predictions.svg")

    var confusion = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10)
    for (actual, guess) in zip(truth, predicted) { confusion[actual][guess] += 1 }
    print("\nconfusion (row: true class, column: predicted)")
    print(pad("", 13) + (0..<10).map { pad(String($0), 6) }.joined())
    for label in 0..<10 {
        print(pad(names[label], 11) + pad(String(label), 2) + confusion[label].map { pad($0 == 0 ? "." : String($0), 6) }.joined())
    }
    if !save.isEmpty {
        try model.save(to: save)
        print("\nsaved the trained model (it takes pixels scaled to [0, 1]) to \(save)")
    }
    print("RESULT accuracy=\(fixed(accuracy))")
}

/// Records each epoch's wall time.
final class EpochTimer: Callback {
    var start = ContinuousClock.now
    var seconds: [Double] = []
    func onEpochBegin(_ epoch: Int, model: Model) throws { start = ContinuousClock.now }
    func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws {
        let elapsed = ContinuousClock.now - start
        seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }
}

func fixed(_ value: Float) -> String { String(Double(Int((Double(value) * 10_000).rounded())) / 10_000) }
func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
