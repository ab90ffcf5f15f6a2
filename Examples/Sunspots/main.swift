// Time series: forecasting next month's sunspot number from the two years before it, with an
// LSTM, on 260 years of monthly observations (NOAA, 1749-2008). Compared with the naive
// forecast (next month = this month) on the last 20% of the series, which training never sees.
//
//   swift run -c release Sunspots [--epochs 30] [--window 24] [--units 32] [--data Examples/Data]
//                                 [--save sunspots.kiln]
import Foundation
import Kiln

Kiln.run {
    Kiln.setRandomSeed(5)
    let epochs: Int = try Kiln.option("epochs", default: 30)
    let window: Int = try Kiln.option("window", default: 24)
    let units: Int = try Kiln.option("units", default: 32)
    let data: String = try Kiln.option("data", default: "Examples/Data")
    let save: String = try Kiln.option("save", default: "")

    let table = try CSVTable(contentsOf: data + "/sunspots_monthly.csv.gz", hasHeader: true)
    let series = try table.column(2)
    let months = series.shape[0]
    let years = table.values.enumerated().filter { $0.offset % table.columnCount == 0 }.map { Int($0.element) }
    print("\(months) months of sunspot numbers, \(years.first ?? 0)-\(years.last ?? 0), from \(data)")

    // Scaled to about [0, 1] by the training part's largest value.
    let split = months * 4 / 5
    let peak = series.scalars.prefix(split).max() ?? 1
    let scaled = try Tensor(shape: [months, 1], scalars: series.scalars.map { $0 / peak })

    // Each window of `window` months, and the month after it.
    let (x, y) = try timeseriesWindows(scaled, targets: try scaled.rows(window..<months), sequenceLength: window)
    let trainCount = split - window   // windows whose target lies in the training part
    let xTrain = try x.rows(0..<trainCount), yTrain = try y.rows(0..<trainCount)
    let xTest = try x.rows(trainCount..<x.shape[0]), yTest = try y.rows(trainCount..<y.shape[0])
    print("\(xTrain.shape[0]) training windows, \(xTest.shape[0]) test windows of \(window) months")

    let model = Sequential([
        Input(shape: [window, 1]),
        LSTM(units),
        Dense(1),
    ])
    model.compile(optimizer: Adam(learningRate: 3e-3), loss: .meanSquaredError)
    model.summary()
    let history = try model.fit(xTrain, yTrain, batchSize: 32, epochs: epochs, validationSplit: 0.1, verbose: 1,
                                callbacks: [EarlyStopping(monitor: "val_loss", patience: 8, restoreBestWeights: true)])
    try history.plot(to: "sunspots-history.svg", title: "Sunspots: loss per epoch")

    // Mean absolute error in sunspot numbers, against the naive forecast.
    let predicted = try model.predict(xTest).scalars.map { $0 * peak }
    let truth = yTest.scalars.map { $0 * peak }
    let lastSeen = (0..<xTest.shape[0]).map { xTest.scalars[($0 + 1) * window - 1] * peak }
    func mae(_ forecast: [Float]) -> Float { zip(forecast, truth).map { abs($0 - $1) }.reduce(0, +) / Float(truth.count) }
    let lstm = mae(predicted), naive = mae(lastSeen)
    print("\ntest months: mean absolute error \(fixed(lstm)) (LSTM) against \(fixed(naive)) (next month = this month)")
    print("last test months (true, LSTM, naive):")
    for k in stride(from: max(0, truth.count - 6), to: truth.count, by: 1) {
        print("  \(fixed(truth[k], 1))  \(fixed(predicted[k], 1))  \(fixed(lastSeen[k], 1))")
    }
    if !save.isEmpty {
        try model.save(to: save)
        print("\nsaved the trained model (it takes \(window) months divided by \(fixed(peak, 1))) to \(save)")
    }
    print("RESULT mae=\(fixed(lstm)) baseline=\(fixed(naive))")
}

/// `x` with `digits` decimals.
func fixed(_ x: Float, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", Double(x)) }
