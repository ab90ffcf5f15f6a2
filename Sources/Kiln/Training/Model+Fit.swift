import KilnGraph

extension Model {
    /// Trains the model for `epochs` passes over `x` and `y` (Keras' `fit`).
    ///
    /// Each batch is one call of the compiled training step. The reported loss is the mean
    /// of the batch losses weighted by batch size; metrics accumulate over the epoch.
    ///
    /// - Parameters:
    ///   - validationSplit: The fraction of samples, taken from the end before shuffling,
    ///     held out and evaluated after each epoch (`val_loss`, `val_accuracy`, …).
    ///   - validationData: Samples to evaluate after each epoch instead.
    ///   - shuffle: Whether batches are drawn in a new random order each epoch (from the
    ///     library's seeded generator).
    ///   - classWeight: A weight per class index, multiplying each sample's weight.
    ///   - sampleWeight: A weight per sample (`[count]`).
    ///   - initialEpoch: The epoch to start counting from, to resume training.
    ///   - verbose: 0 silent, 1 a progress bar (live on a terminal), 2 one line per epoch.
    ///   - callbacks: Called at the start and end of training, epochs and batches.
    /// - Returns: The loss and metrics of every epoch.
    /// - Throws: ``KilnError`` if the model is not compiled, the data does not fit the model
    ///   (naming the input, row and column, or the shapes), or a callback throws.
    @discardableResult
    public func fit(_ x: some ModelInputs, _ y: Tensor, batchSize: Int = 32, epochs: Int = 1, validationSplit: Float = 0,
                    validationData: (x: any ModelInputs, y: Tensor)? = nil, shuffle: Bool = true,
                    classWeight: [Int: Float]? = nil, sampleWeight: Tensor? = nil, initialEpoch: Int = 0,
                    verbose: Int = 1, callbacks: [any Callback] = []) throws -> History {
        guard compileOptions != nil else {
            throw KilnError(.notReady, "model \(String(reflecting: name)) must be compiled before fit: call "
                            + "compile(optimizer:loss:metrics:) first")
        }
        guard batchSize > 0 else { throw KilnError(.invalidArgument, "batchSize must be positive, got \(batchSize)") }
        guard epochs >= 0 else { throw KilnError(.invalidArgument, "epochs must not be negative, got \(epochs)") }
        guard initialEpoch >= 0 else {
            throw KilnError(.invalidArgument, "initialEpoch must not be negative, got \(initialEpoch)")
        }
        guard validationSplit >= 0 && validationSplit < 1 else {
            throw KilnError(.invalidArgument, "validationSplit must be in [0, 1), got \(validationSplit)")
        }
        let all = try dataSet(try arrays(x), y, sampleWeight: sampleWeight, classWeight: classWeight)
        var train = all
        var validation: DataSet?
        if let validationData {
            validation = try dataSet(try arrays(validationData.x), validationData.y, what: "validation x")
        } else if validationSplit > 0 {
            let splitAt = Int((Float(all.count) * (1 - validationSplit)).rounded(.down))
            guard splitAt > 0, splitAt < all.count else {
                throw KilnError(.invalidData, "validationSplit \(validationSplit) of \(all.count) samples leaves "
                                + (splitAt == 0 ? "no training samples" : "no validation samples"))
            }
            train = all.rows(0..<splitAt)
            validation = all.rows(splitAt..<all.count)
        }
        let step = try stepProgram(training: true, targetShape: train.targetShape)
        let feeder = try BatchFeeder(program: step.program, data: train, inputNames: inputs.map(\.name), batchSize: batchSize)
        let history = History()
        let everyone: [any Callback] = [history] + callbacks
        var order = Array(0..<train.count)
        let steps = train.batchCount(batchSize)
        stopTraining = false
        for callback in everyone { try callback.onTrainBegin(model: self) }
        for epoch in initialEpoch..<Swift.max(initialEpoch, epochs) {
            if verbose > 0 { print("Epoch \(epoch + 1)/\(epochs)") }
            for callback in everyone { try callback.onEpochBegin(epoch, model: self) }
            try step.resetAccumulators(store)
            if shuffle { try Kiln.withRandomGenerator { order.shuffle(using: &$0) } }
            var progress = ProgressBar(steps: steps, verbose: verbose)
            try order.withUnsafeBufferPointer { permutation in
                for batch in 0..<steps {
                    let start = batch * batchSize
                    for callback in callbacks { try callback.onBatchBegin(batch, model: self) }
                    try feeder.run(order: shuffle ? permutation : nil, start: start,
                                   count: Swift.min(batchSize, train.count - start))
                    // The running logs, read once when a callback or the progress bar wants them.
                    let drawn = progress.due(batch + 1)
                    let batchLogs = callbacks.isEmpty && !drawn ? [:] : try step.results(store)
                    for callback in callbacks { try callback.onBatchEnd(batch, logs: batchLogs, model: self) }
                    if drawn { progress.draw(batch + 1, logs: batchLogs) }
                }
            }
            var logs = try step.results(store)
            if let validation {
                for (name, value) in try evaluate(validation, batchSize: batchSize) { logs["val_" + name] = value }
            }
            progress.finish(logs: logs)
            for callback in everyone { try callback.onEpochEnd(epoch, logs: logs, model: self) }
            if stopTraining { break }
        }
        for callback in everyone { try callback.onTrainEnd(model: self) }
        return history
    }

    /// The loss and metrics on `x` and `y`, by name (Keras' `evaluate`), computed with the
    /// inference behaviour of every layer.
    ///
    /// - Throws: ``KilnError`` if the model is not compiled or the data does not fit it.
    @discardableResult
    public func evaluate(_ x: some ModelInputs, _ y: Tensor, batchSize: Int = 32, sampleWeight: Tensor? = nil,
                         verbose: Int = 1) throws -> [String: Float] {
        guard batchSize > 0 else { throw KilnError(.invalidArgument, "batchSize must be positive, got \(batchSize)") }
        let data = try dataSet(try arrays(x), y, sampleWeight: sampleWeight)
        let progress = ProgressBar(steps: data.batchCount(batchSize), verbose: verbose)
        let results = try evaluate(data, batchSize: batchSize)
        progress.finish(logs: results)
        return results
    }

    func evaluate(_ data: DataSet, batchSize: Int) throws -> [String: Float] {
        let step = try stepProgram(training: false, targetShape: data.targetShape)
        let feeder = try BatchFeeder(program: step.program, data: data, inputNames: inputs.map(\.name), batchSize: batchSize)
        try step.resetAccumulators(store)
        for start in stride(from: 0, to: data.count, by: batchSize) {
            try feeder.run(order: nil, start: start, count: Swift.min(batchSize, data.count - start))
        }
        return try step.results(store)
    }

    /// The model's outputs for `x`, computed in batches of `batchSize` (Keras' `predict`).
    ///
    /// - Throws: ``KilnError`` if `x` does not fit the model's inputs (naming the input and
    ///   the shapes) or holds NaN or infinity (naming the row and column).
    public func predict(_ x: some ModelInputs, batchSize: Int = 32) throws -> Tensor {
        guard batchSize > 0 else { throw KilnError(.invalidArgument, "batchSize must be positive, got \(batchSize)") }
        let xs = try arrays(x)
        let count = try checkInputs(xs, what: "x")
        let feeds = zip(xs, inputs).map { x, input in x.dtype == input.dtype ? x : Tensor(converting: x, to: input.dtype) }
        let program = try predictProgram()
        func outputs(_ rows: [Tensor]) throws -> Tensor {
            if rows.count == 1 { return try program.run(rows[0], output: "y") }
            let named = Dictionary(uniqueKeysWithValues: zip(inputs.map(\.name), rows))
            guard let y = try program.run(feeds: named)["y"] else { throw KilnError(.invalidGraph, "the program has no output y") }
            return y
        }
        if count <= batchSize { return try outputs(feeds) }
        var parts: [Tensor] = []
        for start in stride(from: 0, to: count, by: batchSize) {
            let range = start..<(start + Swift.min(batchSize, count - start))
            parts.append(try outputs(try feeds.map { try $0.rows(range) }))
        }
        return try Tensor(stacking: parts)
    }

    /// `x` as one array per input of the model.
    private func arrays(_ x: some ModelInputs) throws -> [Tensor] { try x.arrays(for: inputs, model: name) }

    /// One training step on one batch, with metrics reset first; returns the batch's loss
    /// and metrics (Keras' `train_on_batch`). Per-sample weights make policy-gradient
    /// methods a weighted crossentropy.
    ///
    /// - Throws: ``KilnError`` if the model is not compiled or the data does not fit it.
    @discardableResult
    public func trainOnBatch(_ x: some ModelInputs, _ y: Tensor, sampleWeight: Tensor? = nil,
                             classWeight: [Int: Float]? = nil) throws -> [String: Float] {
        guard compileOptions != nil else {
            throw KilnError(.notReady, "model \(String(reflecting: name)) must be compiled before trainOnBatch")
        }
        let data = try dataSet(try arrays(x), y, sampleWeight: sampleWeight, classWeight: classWeight)
        let step = try stepProgram(training: true, targetShape: data.targetShape)
        try step.resetAccumulators(store)
        try BatchFeeder(program: step.program, data: data, inputNames: inputs.map(\.name), batchSize: data.count)
            .run(order: nil, start: 0, count: data.count)
        return try step.results(store)
    }

    /// The loss and metrics on one batch (Keras' `test_on_batch`).
    @discardableResult
    public func testOnBatch(_ x: some ModelInputs, _ y: Tensor, sampleWeight: Tensor? = nil) throws -> [String: Float] {
        let data = try dataSet(try arrays(x), y, sampleWeight: sampleWeight)
        return try evaluate(data, batchSize: data.count)
    }

    /// The outputs for one batch (Keras' `predict_on_batch`).
    public func predictOnBatch(_ x: some ModelInputs) throws -> Tensor {
        let xs = try arrays(x)
        return try predict(xs, batchSize: Swift.max(1, xs.first?.shape.first ?? 1))
    }
}
