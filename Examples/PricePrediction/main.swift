// Regression, the article's second example: predict a product's price from its features.
// A small network learns the pricing pattern of a catalogue and is judged by its mean
// absolute error against the simplest baseline, always guessing the average price.
//
//   swift run -c release PricePrediction [--epochs 150]
import Foundation
import Kiln

/// A catalogue of laptops whose price follows a market pattern, with noise: more memory,
/// a faster processor and a bigger screen cost more, with diminishing returns, and the
/// price falls with the model's age.
func catalogue(_ count: Int) throws -> (features: Tensor, prices: Tensor) {
    try Kiln.withRandomGenerator { random in
        var features: [Float] = [], prices: [Float] = []
        for _ in 0..<count {
            let memory = Float([4, 8, 16, 32, 64][random.nextIndex(below: 5)])  // GB
            let speed = 1.6 + 2.4 * random.nextUniform()                          // GHz
            let screen = 11 + 6 * random.nextUniform()                            // inches
            let age = 36 * random.nextUniform()                                   // months on the market
            let price = 250 + 180 * log2(memory) + 220 * speed * speed / 4 + 35 * (screen - 11)
                - 9 * age + 0.12 * age * age + 60 * random.nextNormal()
            features += [memory, speed, screen, age]
            prices.append(price)
        }
        return (try Tensor(shape: [count, 4], scalars: features), try Tensor(shape: [count, 1], scalars: prices))
    }
}

Kiln.run {
    Kiln.setRandomSeed(7)
    let epochs: Int = try Kiln.option("epochs", default: 150)
    let (x, y) = try catalogue(2000)
    let (xTrainRaw, xTestRaw, yTrain, yTest) = try trainTestSplit(x, y, testFraction: 0.2, seed: 7)
    print("  memory  speed  screen  age   price")
    for row in 0..<5 {
        let f = try xTrainRaw.rows(row..<(row + 1)).scalars, price = try yTrain.rows(row..<(row + 1)).scalars[0]
        print(String(format: "  %4.0f GB  %.1f  %5.1f  %4.1f  $%5.0f", f[0], f[1], f[2], f[3], price))
    }

    // Features and prices on comparable scales; the scalers learn from the training set only.
    var scaleX = StandardScaler(), scaleY = StandardScaler()
    let xTrain = try scaleX.fitTransform(xTrainRaw), xTest = try scaleX.transform(xTestRaw)
    let yTrainScaled = try scaleY.fitTransform(yTrain)

    let model = Sequential([
        Input(shape: [4]),
        Dense(32, activation: .relu),
        Dense(16, activation: .relu),
        Dense(1),
    ])
    model.compile(optimizer: Adam(learningRate: 3e-3), loss: .meanSquaredError, metrics: [.meanAbsoluteError])
    let history = try model.fit(xTrain, yTrainScaled, batchSize: 32, epochs: epochs, validationSplit: 0.1, verbose: 0,
                                callbacks: [EarlyStopping(monitor: "val_loss", patience: 20, restoreBestWeights: true)])
    try history.plot(to: "price-history.svg", title: "Price prediction: loss per epoch")

    // Errors in dollars: the prediction back in original units against the true price.
    let predicted = try scaleY.inverseTransform(model.predict(xTest)).scalars
    let truth = yTest.scalars
    let mae = zip(predicted, truth).map { abs($0 - $1) }.reduce(0, +) / Float(truth.count)
    let average = yTrain.scalars.reduce(0, +) / Float(yTrain.shape[0])
    let baseline = truth.map { abs($0 - average) }.reduce(0, +) / Float(truth.count)
    print("\ntrained for \(history.epochs.count) epochs (early stopping on the validation loss)")
    print(String(format: "test mean absolute error: $%.0f; always guessing the average price ($%.0f): $%.0f",
                 mae, average, baseline))
    print("\n  true price  predicted")
    for row in 0..<5 { print(String(format: "  $%8.0f  $%8.0f", truth[row], predicted[row])) }
    print(String(format: "RESULT mae=%.2f baseline=%.2f", mae, baseline))
}
