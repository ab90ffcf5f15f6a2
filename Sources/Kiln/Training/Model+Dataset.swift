import KilnGraph

extension Model {
    /// Trains the model for `epochs` passes over the batches of `dataset` (Keras' `fit` on a
    /// `PyDataset`). Each batch is checked and copied on a second thread while the previous
    /// one trains, and dropped after its step, so memory holds two batches whatever the size
    /// of the data.
    ///
    /// - Parameters:
    ///   - validationData: Batches evaluated after each epoch (`val_loss`, …).
    ///   - classWeight: A weight per class index, multiplying each sample's weight (models
    ///     with one output).
    ///   - verbose: 0 silent, 1 a progress bar, 2 one line per epoch.
    /// - Returns: The loss and metrics of every epoch.
    /// - Throws: ``KilnError`` if the model is not compiled, a batch does not fit the model
    ///   (naming the batch, the input and the shapes), the dataset throws, or a callback throws.
    @discardableResult
    public func fit(_ dataset: some Dataset, epochs: Int = 1, validationData: (any Dataset)? = nil,
                    classWeight: [Int: Float]? = nil, initialEpoch: Int = 0, verbose: Int = 1,
                    callbacks: [any Callback] = []) throws -> History {
        guard compileOptions != nil else {
            throw KilnError(.notReady, "model \(String(reflecting: name)) must be compiled before fit: call "
                            + "compile(optimizer:loss:metrics:) first")
        }
        guard epochs >= 0, initialEpoch >= 0 else {
            throw KilnError(.invalidArgument, "epochs and initialEpoch must not be negative, got \(epochs) and \(initialEpoch)")
        }
        var batches: Prefetcher<DataSet>?
        return try trainingEpochs(epochs: epochs, initialEpoch: initialEpoch, steps: dataset.count, verbose: verbose,
                                  callbacks: callbacks, startEpoch: {
            batches = prefetcher(dataset, classWeight: classWeight)
        }, runBatch: { batch in
            guard let data = try batches?.take(batch) else { throw KilnError(.invalidArgument, "no batches are being read") }
            return try runStep(training: true, data, first: batch == 0)
        }, endEpoch: { try dataset.onEpochEnd() }, validate: validationData.map { validation in
            { try self.evaluate(validation, verbose: 0) }
        })
    }

    /// The loss and metrics over the batches of `dataset`, by name (Keras' `evaluate`).
    ///
    /// - Throws: ``KilnError`` if the model is not compiled, a batch does not fit the model
    ///   or has no targets, or the dataset throws.
    @discardableResult
    public func evaluate(_ dataset: some Dataset, verbose: Int = 1) throws -> [String: Float] {
        let progress = ProgressBar(steps: dataset.count, verbose: verbose)
        let batches = prefetcher(dataset, classWeight: nil)
        var step: TrainingProgram?
        for batch in 0..<dataset.count { step = try runStep(training: false, batches.take(batch), first: batch == 0) }
        try dataset.onEpochEnd()
        let results = try step?.results(store) ?? [:]
        progress.finish(logs: results)
        return results
    }

    /// The model's output for every batch of `dataset`, in order (Keras' `predict`); targets
    /// in the batches are ignored.
    ///
    /// - Throws: ``KilnError`` if a batch does not fit the model or the model has several
    ///   outputs (``predictAll(_:)-(Dataset)`` returns them all).
    public func predict(_ dataset: some Dataset) throws -> Tensor { try onlyOutput(try predictAll(dataset)) }

    /// Every output of the model for every batch of `dataset`, in order.
    ///
    /// - Throws: ``KilnError`` if a batch does not fit the model or the dataset throws.
    public func predictAll(_ dataset: some Dataset) throws -> [Tensor] {
        let batches = Prefetcher(count: dataset.count) { index in
            try datasetBatch(index) { try self.arrays(dataset.batch(at: index).x) }
        }
        var parts: [[Tensor]] = []
        for batch in 0..<dataset.count {
            let xs = try batches.take(batch)
            parts.append(try datasetBatch(batch) { try predictAll(xs, batchSize: Swift.max(1, xs.first?.shape.first ?? 1)) })
        }
        try dataset.onEpochEnd()
        guard !parts.isEmpty else { throw KilnError(.invalidData, "the dataset has no batches") }
        return try Self.stacked(parts)
    }

    /// One training (or evaluation) step on a whole batch, its accumulators reset first when
    /// it is an epoch's `first` batch (programs for batches of other shapes share them).
    private func runStep(training: Bool, _ data: DataSet, first: Bool) throws -> TrainingProgram {
        let program = try stepProgram(training: training, shapes: data.shapes)
        if first { try program.resetAccumulators(store) }
        try feeder(program, data, batchSize: data.count).run(order: nil, start: 0, count: data.count)
        return program
    }

    /// The batches of `dataset` as checked columns with targets, made on a second thread.
    private func prefetcher(_ dataset: some Dataset, classWeight: [Int: Float]?) -> Prefetcher<DataSet> {
        Prefetcher(count: dataset.count) { index in
            try datasetBatch(index) {
                let batch = try dataset.batch(at: index)
                guard let y = batch.y else {
                    throw KilnError(.invalidData, "it has no targets (y), which training and evaluation need")
                }
                return try self.dataSet(try self.arrays(batch.x), try self.targetArrays(y),
                                        sampleWeights: try self.sampleWeightArrays(batch.sampleWeight), classWeight: classWeight)
            }
        }
    }

}

/// `body`'s result (the work on batch `index` of a dataset), or its error prefixed with the batch's index.
func datasetBatch<T>(_ index: Int, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as KilnError {
        throw KilnError(error.kind, "batch \(index) of the dataset: \(error.message)")
    }
}
