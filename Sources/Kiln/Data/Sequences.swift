import KilnGraph

/// Where ``padSequences(_:maxLength:padding:truncating:value:)`` pads or cuts a sequence.
public enum SequenceEnd: String, Sendable {
    /// At the start (Keras' default for both).
    case pre
    /// At the end.
    case post
}

/// Sequences of different lengths as one `[count, maxLength]` tensor, as Keras'
/// `pad_sequences`: shorter ones padded with `value`, longer ones cut.
///
/// ```swift
/// let x = try padSequences([[1, 2, 3], [4, 5]], maxLength: 4)   // [[0, 1, 2, 3], [0, 0, 4, 5]]
/// ```
///
/// - Parameters:
///   - maxLength: The length of every row; the longest sequence's when `nil`.
///   - padding: Where the padding goes (Keras: `.pre`).
///   - truncating: Which end of a longer sequence is dropped (Keras: `.pre`, keeping the last values).
/// - Throws: ``KilnError`` if `maxLength` is negative, or the result is too large.
public func padSequences(_ sequences: [[Float]], maxLength: Int? = nil, padding: SequenceEnd = .pre,
                         truncating: SequenceEnd = .pre, value: Float = 0) throws -> Tensor {
    let length = maxLength ?? sequences.map(\.count).max() ?? 0
    guard length >= 0 else { throw KilnError(.invalidArgument, "padSequences: maxLength must not be negative, got \(length)") }
    var values: [Float] = []
    values.reserveCapacity(sequences.count * length)
    for sequence in sequences {
        let kept = sequence.count <= length ? sequence[...]
            : truncating == .pre ? sequence.suffix(length)[...] : sequence.prefix(length)[...]
        let fill = [Float](repeating: value, count: length - kept.count)
        values += padding == .pre ? fill + kept : Array(kept) + fill
    }
    return try Tensor(shape: [sequences.count, length], scalars: values)
}

/// Integer sequences padded as ``padSequences(_:maxLength:padding:truncating:value:)`` does
/// (token ids, for an ``Embedding``).
public func padSequences(_ sequences: [[Int]], maxLength: Int? = nil, padding: SequenceEnd = .pre,
                         truncating: SequenceEnd = .pre, value: Int = 0) throws -> Tensor {
    try padSequences(sequences.map { $0.map(Float.init) }, maxLength: maxLength, padding: padding, truncating: truncating,
                     value: Float(value))
}

/// Windows of a time series for sequence models, as Keras' `timeseries_dataset_from_array`
/// (all windows at once, in order; ``Model/fit(_:_:batchSize:epochs:validationSplit:validationData:shuffle:classWeight:sampleWeight:initialEpoch:verbose:callbacks:)`` batches and shuffles them).
///
/// Window `i` starts at row `s = i·sequenceStride` and holds rows `s, s + samplingRate, ...`
/// (`sequenceLength` of them); its target is `targets[s]`. To forecast the value `k` steps
/// after a window's last row, pass the series shifted: `targets` = rows from
/// `(sequenceLength - 1)·samplingRate + k` on.
///
/// ```swift
/// // Monthly values [months, 1]: 24 months in, the next month out.
/// let (x, y) = try timeseriesWindows(series, targets: try series.rows(24..<months), sequenceLength: 24)
/// // x: [windows, 24, 1], y: [windows, 1]
/// ```
///
/// - Parameters:
///   - data: `[rows, features...]`: one row per time step.
///   - targets: One row per window start (`[rows', ...]`), or `nil` for windows alone (then
///     the second result is empty). Windows whose start has no target are left out.
///   - sequenceLength: The rows in each window, at least 1.
///   - sequenceStride: Rows between the starts of consecutive windows, at least 1.
///   - samplingRate: Rows between the rows of a window, at least 1.
/// - Returns: `x` `[windows, sequenceLength, features...]` and `y` `[windows, target...]`.
/// - Throws: ``KilnError`` naming the argument: non-positive sizes, `data` without rows,
///   or a window longer than the series.
public func timeseriesWindows(_ data: Tensor, targets: Tensor? = nil, sequenceLength: Int, sequenceStride: Int = 1,
                              samplingRate: Int = 1) throws -> (x: Tensor, y: Tensor) {
    guard sequenceLength >= 1, sequenceStride >= 1, samplingRate >= 1 else {
        throw KilnError(.invalidArgument, "timeseriesWindows: sequenceLength, sequenceStride and samplingRate must be at least 1, "
                        + "got \(sequenceLength), \(sequenceStride) and \(samplingRate)")
    }
    guard let rows = data.shape.first, data.dtype == .float32 else {
        throw KilnError(.invalidArgument, "timeseriesWindows: the data must be f32 rows [time, features...], got \(data.type)")
    }
    let span = (sequenceLength - 1) * samplingRate + 1
    guard span <= rows else {
        throw KilnError(.invalidArgument, "timeseriesWindows: a window spans \(span) rows (\(sequenceLength) rows "
                        + "\(samplingRate) apart) but the series has \(rows)")
    }
    var starts = Array(stride(from: 0, through: rows - span, by: sequenceStride))
    if let targets {
        guard let count = targets.shape.first, targets.dtype == .float32 else {
            throw KilnError(.invalidArgument, "timeseriesWindows: the targets must be f32 rows, got \(targets.type)")
        }
        starts = starts.filter { $0 < count }
    }
    let rowSize = data.shape.dropFirst().reduce(1, *)
    let values = data.scalars
    var windows: [Float] = []
    windows.reserveCapacity(starts.count * sequenceLength * rowSize)
    for start in starts {
        for k in 0..<sequenceLength {
            let row = start + k * samplingRate
            windows += values[(row * rowSize)..<((row + 1) * rowSize)]
        }
    }
    let x = try Tensor(shape: [starts.count, sequenceLength] + data.shape.dropFirst(), scalars: windows)
    guard let targets else { return (x, try Tensor(shape: [0], scalars: [Float]())) }
    let targetSize = targets.shape.dropFirst().reduce(1, *), targetValues = targets.scalars
    let y = starts.flatMap { targetValues[($0 * targetSize)..<(($0 + 1) * targetSize)] }
    return (x, try Tensor(shape: [starts.count] + targets.shape.dropFirst(), scalars: y))
}
