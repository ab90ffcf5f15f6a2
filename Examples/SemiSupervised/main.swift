// Semi-supervised learning: only 5% of the training digits have labels. A network trained
// on those alone is the baseline; pseudo-labelling then lets it label the unlabelled digits
// it is confident about and learn from those too, round after round.
//
//   swift run -c release SemiSupervised [--epochs 100] [--data Examples/Data]
import Kiln

func network() -> Model {
    let model = Sequential([
        Input(shape: [64]),
        Dense(64, activation: .relu),
        Dense(10, activation: .softmax),
    ])
    model.compile(optimizer: Adam(learningRate: 1e-3), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
    return model
}

Kiln.run {
    Kiln.setRandomSeed(11)
    let epochs: Int = try Kiln.option("epochs", default: 100)
    let data: String = try Kiln.option("data", default: "Examples/Data")
    let table = try CSVTable(contentsOf: data + "/digits.csv.gz")
    let (trainRaw, testRaw, yTrain, yTest) = try trainTestSplit(table.tensor(columns: 0..<64), table.column(64),
                                                                 testFraction: 0.25, seed: 11, stratify: true)
    var scaler = StandardScaler()  // fitting a scaler needs no labels, so it sees every training digit
    let xTrain = try scaler.fitTransform(trainRaw), xTest = try scaler.transform(testRaw)

    // Keep the labels of 5% of the training digits (the same share of each digit).
    let (xUnlabelled, xLabelled, _, yLabelled) = try trainTestSplit(xTrain, yTrain, testFraction: 0.05, seed: 11, stratify: true)
    print("\(xLabelled.shape[0]) labelled and \(xUnlabelled.shape[0]) unlabelled training digits, \(xTest.shape[0]) test digits")

    let baseline = network()
    try baseline.fit(xLabelled, yLabelled, batchSize: 16, epochs: epochs, verbose: 0)
    let baselineAccuracy = try baseline.evaluate(xTest, yTest, verbose: 0)["accuracy"]!
    print("labelled digits only:   test accuracy \(baselineAccuracy)")

    // Pseudo-labelling: the current model labels the digits it is at least 95% sure of; a fresh
    // model learns from the true labels plus those, and the next round labels more.
    var teacher = baseline
    for round in 1...3 {
        let probabilities = try teacher.predict(xUnlabelled)
        let guesses = probabilities.argmaxRows(), p = probabilities.scalars
        let confident = guesses.indices.filter { p[$0 * 10 + guesses[$0]] >= 0.95 }
        let x = try Tensor(stacking: [xLabelled, xUnlabelled.rows(at: confident)])
        let y = try Tensor(stacking: [yLabelled, Tensor(shape: [confident.count], scalars: confident.map { Float(guesses[$0]) })])
        let student = network()
        try student.fit(x, y, batchSize: 32, epochs: epochs / 2, verbose: 0)
        let accuracy = try student.evaluate(xTest, yTest, verbose: 0)["accuracy"]!
        print("round \(round): \(confident.count) pseudo-labels, test accuracy \(accuracy)")
        teacher = student
    }
    let final = try teacher.evaluate(xTest, yTest, verbose: 0)["accuracy"]!
    print("\nwith pseudo-labels:     test accuracy \(final) (labelled only: \(baselineAccuracy))")
    print("RESULT baseline=\(baselineAccuracy) pseudo=\(final)")
}
