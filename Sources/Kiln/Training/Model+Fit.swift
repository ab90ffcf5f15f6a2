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
    ///   - classWeight: A weight per class index, multiplying each sample's weight (models
    ///     with one output).
    ///   - sampleWeight: A weight per sample (`[count]`), for every output, or one such
    ///     array per output (in order or by name).
    ///   - initialEpoch: The epoch to start counting from, to resume training.
    ///   - verbose: 0 silent, 1 a progress bar (live on a terminal), 2 one line per epoch.
    ///   - callbacks: Called at the start and end of training, epochs and batches.
    /// - Returns: The loss and metrics of every epoch.
    /// - Throws: ``KilnError`` if the model is not compiled, the data does not fit the model
    ///   (naming the input, row and column, or the shapes), or a callback throws.
    @discardableResult
    public func fit(_ x: some ModelInputs, _ y: some ModelTargets, batchSize: Int = 32, epochs: Int = 1,
                    validationSplit: Float = 0, validationData: (x: any ModelInputs, y: any ModelTargets)? = nil,
                    shuffle: Bool = true, classWeight: [Int: Float]? = nil, sampleWeight: (any ModelTargets)? = nil,
                    initialEpoch: Int = 0,
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
        let all = try dataSet(try arrays(x), try targetArrays(y), sampleWeights: try sampleWeightArrays(sampleWeight),
                              classWeight: classWeight)
        var train = all
        var validation: DataSet?
        if let validationData {
            validation = try dataSet(try arrays(validationData.x), try targetArrays(validationData.y), what: "validation x")
        } else if validationSplit > 0 {
            let splitAt = Int((Float(all.count) * (1 - validationSplit)).rounded(.down))
            guard splitAt > 0, splitAt < all.count else {
                throw KilnError(.invalidData, "validationSplit \(validationSplit) of \(all.count) samples leaves "
                                + (splitAt == 0 ? "no training samples" : "no validation samples"))
            }
            train = all.rows(0..<splitAt)
            validation = all.rows(splitAt..<all.count)
        }
        let step = try stepProgram(training: true, shapes: train.shapes)
        let feeder = try self.feeder(step, train, batchSize: batchSize)
        var order = Array(0..<train.count)
        return try trainingEpochs(epochs: epochs, initialEpoch: initialEpoch, steps: train.batchCount(batchSize), verbose: verbose,
                                  callbacks: callbacks, startEpoch: {
            try step.resetAccumulators(store)
            if shuffle { try Kiln.withRandomGenerator { order.shuffle(using: &$0) } }
        }, runBatch: { batch in
            let start = batch * batchSize
            try order.withUnsafeBufferPointer { permutation in
                try feeder.run(order: shuffle ? permutation : nil, start: start, count: Swift.min(batchSize, train.count - start))
            }
            return step
        }, validate: validation.map { validation in { try self.evaluate(validation, batchSize: batchSize) } })
    }

    /// The epochs of `fit`, whatever feeds the batches: the callbacks, the progress bar, the
    /// validation and ``stopTraining`` around `runBatch`, which runs batch `i` of an epoch and
    /// returns the program whose accumulators hold the epoch's logs. `startEpoch` runs before
    /// an epoch's first batch (resetting the accumulators), `endEpoch` after its last.
    func trainingEpochs(epochs: Int, initialEpoch: Int, steps: Int, verbose: Int, callbacks: [any Callback],
                        startEpoch: () throws -> Void, runBatch: (Int) throws -> TrainingProgram,
                        endEpoch: () throws -> Void = {}, validate: (() throws -> [String: Float])?) throws -> History {
        let history = History()
        let everyone: [any Callback] = [history] + callbacks
        stopTraining = false
        for callback in everyone { try callback.onTrainBegin(model: self) }
        for epoch in initialEpoch..<Swift.max(initialEpoch, epochs) {
            if verbose > 0 { print("Epoch \(epoch + 1)/\(epochs)") }
            for callback in everyone { try callback.onEpochBegin(epoch, model: self) }
            try startEpoch()
            var progress = ProgressBar(steps: steps, verbose: verbose)
            var last: TrainingProgram?
            for batch in 0..<steps {
                for callback in callbacks { try callback.onBatchBegin(batch, model: self) }
                let program = try runBatch(batch)
                last = program
                // The running logs, read once when a callback or the progress bar wants them.
                let drawn = progress.due(batch + 1)
                let batchLogs = callbacks.isEmpty && !drawn ? [:] : try program.results(store)
                for callback in callbacks { try callback.onBatchEnd(batch, logs: batchLogs, model: self) }
                if drawn { progress.draw(batch + 1, logs: batchLogs) }
            }
            try endEpoch()
            var logs = try last?.results(store) ?? [:]
            if let validate {
                for (name, value) in try validate() { logs["val_" + name] = value }
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
    public func evaluate(_ x: some ModelInputs, _ y: some ModelTargets, batchSize: Int = 32,
                         sampleWeight: (any ModelTargets)? = nil, verbose: Int = 1) throws -> [String: Float] {
        guard batchSize > 0 else { throw KilnError(.invalidArgument, "batchSize must be positive, got \(batchSize)") }
        let data = try dataSet(try arrays(x), try targetArrays(y), sampleWeights: try sampleWeightArrays(sampleWeight))
        let progress = ProgressBar(steps: data.batchCount(batchSize), verbose: verbose)
        let results = try evaluate(data, batchSize: batchSize)
        progress.finish(logs: results)
        return results
    }

    func evaluate(_ data: DataSet, batchSize: Int) throws -> [String: Float] {
        let step = try stepProgram(training: false, shapes: data.shapes)
        let feeder = try self.feeder(step, data, batchSize: batchSize)
        try step.resetAccumulators(store)
        for start in stride(from: 0, to: data.count, by: batchSize) {
            try feeder.run(order: nil, start: start, count: Swift.min(batchSize, data.count - start))
        }
        return try step.results(store)
    }

    /// The model's output for `x`, computed in batches of `batchSize` (Keras' `predict`).
    ///
    /// - Throws: ``KilnError`` if `x` does not fit the model's inputs (naming the input and
    ///   the shapes) or holds NaN or infinity (naming the row and column), or if the model
    ///   has several outputs (``predictAll(_:batchSize:)`` returns them all).
    public func predict(_ x: some ModelInputs, batchSize: Int = 32) throws -> Tensor {
        try onlyOutput(try predictAll(x, batchSize: batchSize))
    }

    /// The one output of a prediction.
    ///
    /// - Throws: ``KilnError`` naming the outputs and ``predictAll(_:batchSize:)`` if the model has several.
    func onlyOutput(_ all: [Tensor]) throws -> Tensor {
        guard all.count == 1 else {
            throw KilnError(.invalidArgument, "model \(String(reflecting: name)) has \(all.count) outputs "
                            + "(\(outputNames.joined(separator: ", "))): use predictAll, which returns one array per output")
        }
        return all[0]
    }

    /// Each output's parts, one per batch of samples, stacked along the batch.
    static func stacked(_ parts: [[Tensor]]) throws -> [Tensor] {
        guard let first = parts.first else { return [] }
        return try first.indices.map { index in try Tensor(stacking: parts.map { $0[index] }) }
    }

    /// Every output of the model for `x`, in the order of ``outputs``, computed in batches
    /// of `batchSize` (Keras' `predict` on a model with several outputs).
    ///
    /// - Throws: ``KilnError`` if `x` does not fit the model's inputs (naming the input and
    ///   the shapes) or holds NaN or infinity (naming the row and column).
    public func predictAll(_ x: some ModelInputs, batchSize: Int = 32) throws -> [Tensor] {
        guard batchSize > 0 else { throw KilnError(.invalidArgument, "batchSize must be positive, got \(batchSize)") }
        let xs = try arrays(x)
        let count = try checkInputs(xs, what: "x")
        let feeds = zip(xs, inputs).map { x, input in x.dtype == input.dtype ? x : Tensor(converting: x, to: input.dtype) }
        let program = try predictProgram(inputShapes: feeds.map { Array($0.shape.dropFirst()) })
        let names = predictOutputNames
        func outputs(_ rows: [Tensor]) throws -> [Tensor] {
            if rows.count == 1, names.count == 1 { return [try program.run(rows[0], output: names[0])] }
            let results = try program.run(feeds: Dictionary(uniqueKeysWithValues: zip(inputs.map(\.name), rows)))
            return try names.map { name in
                guard let y = results[name] else { throw KilnError(.invalidGraph, "the program has no output \(name)") }
                return y
            }
        }
        if count <= batchSize { return try outputs(feeds) }
        var parts: [[Tensor]] = []
        for start in stride(from: 0, to: count, by: batchSize) {
            let range = start..<(start + Swift.min(batchSize, count - start))
            parts.append(try outputs(try feeds.map { try $0.rows(range) }))
        }
        return try Self.stacked(parts)
    }

    /// `x` as one array per input of the model.
    ///
    /// - Throws: The error that stopped the model being built, if any, or ``KilnError`` if
    ///   `x` does not match the model's inputs.
    func arrays(_ x: some ModelInputs) throws -> [Tensor] {
        if let failure { throw failure }
        return try x.arrays(for: inputs.map(\.name), of: "input", model: name)
    }

    /// `y` as one array per output of the model.
    func targetArrays(_ y: some ModelTargets) throws -> [Tensor] {
        try y.arrays(for: objectiveNames, of: "output", model: name)
    }

    /// Sample weights as one array per output, or one array for every output.
    func sampleWeightArrays(_ weights: (any ModelTargets)?) throws -> [Tensor?] {
        guard let weights else { return [] }
        if let tensor = weights as? Tensor { return [tensor] }
        return try weights.arrays(for: objectiveNames, of: "output", model: name)
    }

    /// A feeder of `step`'s inputs, targets and sample weights from `data`.
    func feeder(_ step: TrainingProgram, _ data: DataSet, batchSize: Int) throws -> BatchFeeder {
        var columns = Dictionary(uniqueKeysWithValues: zip(inputs.map(\.name), data.inputs))
        for (feeds, (target, weights)) in zip(feedNames, zip(data.targets, data.weights)) {
            columns[feeds.target] = target
            columns[feeds.sampleWeight] = weights
        }
        return try BatchFeeder(program: step.program, columns: columns, count: data.count, batchSize: batchSize)
    }

    /// One training step on one batch, with metrics reset first; returns the batch's loss
    /// and metrics (Keras' `train_on_batch`). Per-sample weights make policy-gradient
    /// methods a weighted crossentropy.
    ///
    /// - Throws: ``KilnError`` if the model is not compiled or the data does not fit it.
    @discardableResult
    public func trainOnBatch(_ x: some ModelInputs, _ y: some ModelTargets, sampleWeight: (any ModelTargets)? = nil,
                             classWeight: [Int: Float]? = nil) throws -> [String: Float] {
        guard compileOptions != nil else {
            throw KilnError(.notReady, "model \(String(reflecting: name)) must be compiled before trainOnBatch")
        }
        let data = try dataSet(try arrays(x), try targetArrays(y), sampleWeights: try sampleWeightArrays(sampleWeight),
                               classWeight: classWeight)
        let step = try stepProgram(training: true, shapes: data.shapes)
        try step.resetAccumulators(store)
        try feeder(step, data, batchSize: data.count).run(order: nil, start: 0, count: data.count)
        return try step.results(store)
    }

    /// The loss and metrics on one batch (Keras' `test_on_batch`).
    @discardableResult
    public func testOnBatch(_ x: some ModelInputs, _ y: some ModelTargets,
                            sampleWeight: (any ModelTargets)? = nil) throws -> [String: Float] {
        let data = try dataSet(try arrays(x), try targetArrays(y), sampleWeights: try sampleWeightArrays(sampleWeight))
        return try evaluate(data, batchSize: data.count)
    }

    /// The output for one batch (Keras' `predict_on_batch`).
    public func predictOnBatch(_ x: some ModelInputs) throws -> Tensor {
        let xs = try arrays(x)
        return try predict(xs, batchSize: Swift.max(1, xs.first?.shape.first ?? 1))
    }

    /// Every output for one batch, in the order of ``outputs``.
    public func predictAllOnBatch(_ x: some ModelInputs) throws -> [Tensor] {
        let xs = try arrays(x)
        return try predictAll(xs, batchSize: Swift.max(1, xs.first?.shape.first ?? 1))
    }
}
