// Regression on real data: disease progression of 442 diabetes patients one year after
// ten baseline measurements (Efron et al., 2004). Reports the test MAE and R².
//
//   swift run -c release Diabetes [--epochs 300] [--data Examples/Data]
import Foundation
import Kiln

Kiln.run {
    Kiln.setRandomSeed(3)
    let epochs: Int = try Kiln.option("epochs", default: 300)
    let data: String = try Kiln.option("data", default: "Examples/Data")

    // age, sex, bmi, blood pressure and six blood serum measurements, in raw units.
    let x = try CSVTable(contentsOf: data + "/diabetes_data_raw.csv.gz", delimiter: " ").tensor(columns: 0..<10)
    let y = try CSVTable(contentsOf: data + "/diabetes_target.csv.gz").tensor(columns: [0])
    print("\(x.shape[0]) patients, \(x.shape[1]) measurements each")

    let (xTrainRaw, xTestRaw, yTrain, yTest) = try trainTestSplit(x, y, testFraction: 0.2, seed: 3)
    var scaleX = StandardScaler(), scaleY = StandardScaler()
    let xTrain = try scaleX.fitTransform(xTrainRaw), xTest = try scaleX.transform(xTestRaw)
    let yTrainScaled = try scaleY.fitTransform(yTrain)

    // Few samples: a small network, weight decay and early stopping keep it from memorising.
    let model = Sequential([
        Input(shape: [10]),
        Dense(16, activation: .relu),
        Dropout(0.1),
        Dense(1),
    ])
    model.compile(optimizer: AdamW(learningRate: 1e-3, weightDecay: 1e-2), loss: .meanSquaredError)
    let history = try model.fit(xTrain, yTrainScaled, batchSize: 16, epochs: epochs, validationSplit: 0.15, verbose: 0,
                                callbacks: [EarlyStopping(monitor: "val_loss", patience: 30, restoreBestWeights: true)])
    try history.plot(to: "diabetes-history.svg", title: "Diabetes: loss per epoch")

    let predicted = try scaleY.inverseTransform(model.predict(xTest)).scalars, truth = yTest.scalars
    let mean = truth.reduce(0, +) / Float(truth.count)
    let mae = zip(predicted, truth).map { abs($0 - $1) }.reduce(0, +) / Float(truth.count)
    let residual = zip(predicted, truth).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
    let total = truth.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
    let r2 = 1 - residual / total
    print("trained for \(history.epochs.count) epochs (early stopping on the validation loss)")
    print(String(format: "test MAE %.1f (progression units; the target ranges 25-346), R² %.3f", mae, r2))
    print(String(format: "RESULT mae=%.2f r2=%.4f", mae, r2))
}
