import Kiln

/// Seconds since `start`.
func elapsed(since start: ContinuousClock.Instant) -> Double {
    let duration = ContinuousClock.now - start
    return Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

/// The median of `values` (the upper one of an even count); NaN when empty.
func median(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.sorted()[values.count / 2] }

/// The median time in seconds of `repeats` runs of `body`, after one untimed run.
func medianTime(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var times: [Double] = []
    for _ in 0..<Swift.max(1, repeats) {
        let start = ContinuousClock.now
        try body()
        times.append(elapsed(since: start))
    }
    return median(times)
}

/// The median seconds of one call of the model's one-sample ``Predictor`` on `input`
/// (``medianTime(repeats:_:)`` of 9 runs of `calls` calls).
func predictorSeconds(_ model: Model, _ input: [Float], calls: Int) throws -> Double {
    let predictor = try model.predictor()
    var output = [Float](repeating: 0, count: predictor.outputCount)
    return try input.withUnsafeBufferPointer { input in
        try output.withUnsafeMutableBufferPointer { output in
            try medianTime(repeats: 9) { for _ in 0..<calls { try predictor.predict(input, into: output) } }
        }
    } / Double(calls)
}

/// `x` with `digits` decimals.
func fixed(_ x: Double, _ digits: Int) -> String { cFormat("%.*f", Int32(digits), x) }

/// `text` padded with spaces to `width` columns, on the left when `right`.
func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let room = String(repeating: " ", count: Swift.max(0, width - text.count))
    return right ? room + text : text + room
}

/// `2.3M`, `81.0k`: a rate with one decimal.
func rate(_ value: Double) -> String { value >= 1e6 ? fixed(value / 1e6, 1) + "M" : fixed(value / 1e3, 1) + "k" }

/// `6.1 ms`.
func milliseconds(_ seconds: Double) -> String { fixed(seconds * 1e3, 1) + " ms" }

/// `9.7 µs`.
func microseconds(_ seconds: Double) -> String { fixed(seconds * 1e6, 1) + " µs" }
