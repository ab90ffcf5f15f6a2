// The first real neural network: 8x8 handwritten digits (UCI), a standardised input and
// one hidden layer, 97-98% of the test digits right.
//
//   swift run -c release Digits [--epochs 60] [--data Examples/Data] [--save digits.kiln]
import Kiln

Kiln.run {
    Kiln.setRandomSeed(42)
    let epochs: Int = try Kiln.option("epochs", default: 60)
    let data: String = try Kiln.option("data", default: "Examples/Data")
    let save: String = try Kiln.option("save", default: "")

    // 1797 digits: 64 pixel intensities (0-16), then the label.
    let table = try CSVTable(contentsOf: data + "/digits.csv.gz")
    let x = try table.tensor(columns: 0..<64)
    let y = try table.column(64)
    print("\(table.rowCount) digits of \(table.columnCount - 1) pixels from \(table.source)")

    // A quarter for testing, with every digit in the same share; the scaler learns from the training set only.
    var (xTrain, xTest, yTrain, yTest) = try trainTestSplit(x, y, testFraction: 0.25, seed: 42, stratify: true)
    var scaler = StandardScaler()
    xTrain = try scaler.fitTransform(xTrain)
    xTest = try scaler.transform(xTest)

    let model = Sequential([
        Input(shape: [64]),
        Dense(64, activation: .relu),
        Dense(10, activation: .softmax),
    ])
    model.compile(optimizer: Adam(learningRate: 1e-3), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
    model.summary()

    let history = try model.fit(xTrain, yTrain, batchSize: 32, epochs: epochs, validationData: (xTest, yTest), verbose: 2)
    try history.plot(to: "digits-history.svg", title: "Digits: loss and accuracy per epoch")

    let scores = try model.evaluate(xTest, yTest, verbose: 0)
    print("\ntest accuracy: \(fixed(scores["accuracy"]!)) (\(yTest.shape[0]) digits never seen in training)")
    print("loss and accuracy per epoch: digits-history.svg")

    // Where the network is wrong: the confusion of the test set, true digit by row.
    let predicted = try model.predict(xTest).argmaxRows()
    var confusion = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10)
    for (truth, guess) in zip(yTest.scalars.map { Int($0) }, predicted) { confusion[truth][guess] += 1 }
    print("\nconfusion (row: true digit, column: predicted)")
    print("     " + (0..<10).map { pad(String($0), 4) }.joined())
    for digit in 0..<10 { print(pad(String(digit), 4) + " " + confusion[digit].map { pad($0 == 0 ? "." : String($0), 4) }.joined()) }
    if !save.isEmpty {
        try model.save(to: save)
        print("\nsaved the trained model (it takes standardised pixels) to \(save); see it with `swift run kiln summary \(save)`")
    }
    print("RESULT accuracy=\(fixed(scores["accuracy"]!))")
}

func fixed(_ value: Float) -> String { String(Double(Int((Double(value) * 10_000).rounded())) / 10_000) }
func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
