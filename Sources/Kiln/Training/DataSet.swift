import KilnGraph

/// One array of samples in memory the training loop copies rows from: 4-byte elements
/// (`f32` or `i32`), `width` per sample, in a buffer that never moves.
final class Column {
    let count: Int
    let width: Int
    let dtype: DType
    let base: UnsafeMutableRawPointer

    var rowBytes: Int { width * 4 }

    /// A copy of `tensor`'s elements as `dtype` (f32 or i32).
    init(_ tensor: Tensor, as dtype: DType) {
        count = tensor.shape.first ?? 0
        width = count == 0 ? 0 : tensor.scalarCount / count
        self.dtype = dtype
        base = .allocate(byteCount: Swift.max(tensor.scalarCount * 4, 4), alignment: 64)
        if tensor.dtype == dtype {
            tensor.copyBytes(to: base)
        } else if dtype == .float32 {
            let floats = base.bindMemory(to: Float.self, capacity: tensor.scalarCount)
            for (index, value) in tensor.int32Scalars.enumerated() { floats[index] = Float(value) }
        } else {
            let ints = base.bindMemory(to: Int32.self, capacity: tensor.scalarCount)
            for (index, value) in tensor.scalars.enumerated() { ints[index] = Tensor.int32(fromFloat: value) }
        }
    }

    /// A column of `count` samples of `width` floats from `values`.
    init(floats values: [Float], width: Int) {
        count = width == 0 ? 0 : values.count / width
        self.width = width
        dtype = .float32
        base = .allocate(byteCount: Swift.max(values.count * 4, 4), alignment: 64)
        values.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    deinit { base.deallocate() }

    /// The rows `range` as a new column.
    func rows(_ range: Range<Int>) -> Column { Column(rowsOf: self, range) }

    private init(rowsOf other: Column, _ range: Range<Int>) {
        count = range.count
        width = other.width
        dtype = other.dtype
        base = .allocate(byteCount: Swift.max(count * other.rowBytes, 4), alignment: 64)
        base.copyMemory(from: other.base + range.lowerBound * other.rowBytes, byteCount: count * other.rowBytes)
    }

    /// The float at `index` (row-major over all samples).
    func float(_ index: Int) -> Float {
        dtype == .float32 ? base.load(fromByteOffset: index * 4, as: Float.self)
            : Float(base.load(fromByteOffset: index * 4, as: Int32.self))
    }
}

/// Validated samples for training or evaluation: the model inputs, and for each output
/// its targets shaped for its loss and one weight per sample (none of either for `predict`).
struct DataSet {
    let count: Int
    let inputs: [Column]
    /// Each input's sample shape (concrete where the model's input has a None size).
    let inputShapes: [[Int]]
    let targets: [Column]
    let targetShapes: [[Int]]
    let weights: [Column]

    /// The sample shapes the step programs for this data are made for.
    var shapes: StepShapes { StepShapes(inputs: inputShapes, targets: targetShapes) }

    /// How many batches of `batchSize` the samples make (the last may be short), without
    /// overflowing for any positive `batchSize`.
    func batchCount(_ batchSize: Int) -> Int { count == 0 ? 0 : (count - 1) / batchSize + 1 }

    /// The rows `range`.
    func rows(_ range: Range<Int>) -> DataSet {
        DataSet(count: range.count, inputs: inputs.map { $0.rows(range) }, inputShapes: inputShapes,
                targets: targets.map { $0.rows(range) },
                targetShapes: targetShapes, weights: weights.map { $0.rows(range) })
    }
}

extension Model {
    /// Builds the model from `xs` if it has no inputs yet, and checks them against its inputs
    /// (one array per input, each of the input's sample shape, not bool, all with the same
    /// number of samples, at least one, finite unless ``checksFiniteInputs`` is off); returns
    /// the number of samples.
    ///
    /// - Throws: ``KilnError`` naming the input and the shapes, or the row and column of a bad value.
    func checkInputs(_ xs: [Tensor], what: String) throws -> Int {
        buildIfNeeded(from: xs)
        try requireBuilt()
        guard xs.count == inputs.count else {
            throw KilnError(.invalidData, "model \(String(reflecting: name)) has \(inputs.count) inputs, got \(xs.count) arrays")
        }
        let count = xs[0].shape.first ?? 0
        for (x, input) in zip(xs, inputs) {
            guard x.shape.count >= 1, Input.fits(Array(x.shape.dropFirst()), input.shape) else {
                throw KilnError(.invalidData, "input \(String(reflecting: input.name)) expects samples of shape "
                                + "\(Layer.shapesText([input.shape])), got \(what) of shape \(x.shape)")
            }
            guard x.dtype != .bool else { throw KilnError(.invalidData, "\(what) is bool; give f32 or i32 values") }
            guard x.shape[0] == count else {
                throw KilnError(.invalidData, "the inputs have different numbers of samples: \(xs.map { $0.shape.first ?? 0 })")
            }
        }
        guard count > 0 else { throw KilnError(.invalidData, "\(what) is empty: there are no samples") }
        if checksFiniteInputs {
            for (x, input) in zip(xs, inputs) {
                try Self.requireFinite(x, xs.count == 1 ? what : "\(what) for input \(String(reflecting: input.name))")
            }
        }
        return count
    }

    /// Checks `xs` (and the targets `ys`, sample and class weights when given) against the
    /// model and its losses, and copies them into columns: one target array per output, and
    /// `sampleWeights` either one per output (`nil` for none) or one for them all.
    ///
    /// - Throws: ``KilnError`` naming the input or output, row and column of a bad value, or
    ///   the shapes that disagree.
    func dataSet(_ xs: [Tensor], _ ys: [Tensor]?, sampleWeights: [Tensor?] = [], classWeight: [Int: Float]? = nil,
                 what: String = "x") throws -> DataSet {
        let count = try checkInputs(xs, what: what)
        let inputColumns = zip(xs, inputs).map { Column($0, as: $1.dtype) }
        let inputShapes = xs.map { Array($0.shape.dropFirst()) }
        guard let ys else {
            return DataSet(count: count, inputs: inputColumns, inputShapes: inputShapes, targets: [], targetShapes: [], weights: [])
        }
        let objectives = try compileOptions.map(objectives) ?? []
        guard ys.count == objectiveNames.count else {
            throw KilnError(.invalidData, "model \(String(reflecting: name)) has \(objectiveNames.count) outputs, got \(ys.count) "
                            + "target arrays")
        }
        if classWeight != nil, ys.count > 1 {
            throw KilnError(.invalidArgument, "classWeight is only supported for models with one output; model "
                            + "\(String(reflecting: name)) has \(ys.count): give sampleWeight per output instead")
        }
        var targets: [Column] = [], targetShapes: [[Int]] = [], weightColumns: [Column] = []
        for (index, y) in ys.enumerated() {
            // Names the output in messages when there are several.
            let label = ys.count == 1 ? "y" : "y for output \(String(reflecting: objectiveNames[index]))"
            let objective = index < objectives.count ? objectives[index] : nil
            let outputShape = index < outputs.count ? outputs[index].shape : []
            guard y.shape.first == count else {
                throw KilnError(.invalidData, "\(what) has \(count) samples but \(label) has \(y.shape.first ?? 0) (shape \(y.shape))")
            }
            guard y.dtype != .bool else { throw KilnError(.invalidData, "\(label) is bool; give f32 or i32 values") }
            if checksFiniteInputs { try Self.requireFinite(y, label) }
            let targetShape = try self.targetShape(for: y, loss: objective?.loss, outputShape: outputShape, label: label)
            let target = Column(y, as: .float32)
            if let loss = objective?.loss, loss.sparseTargets { try checkLabels(target, outputShape: outputShape, label: label) }
            var weights = [Float](repeating: 1, count: count)
            if let sampleWeight = sampleWeights.count == 1 ? sampleWeights[0] : index < sampleWeights.count ? sampleWeights[index] : nil {
                let weightLabel = ys.count == 1 || sampleWeights.count == 1 ? "sampleWeight"
                    : "sampleWeight for output \(String(reflecting: objectiveNames[index]))"
                guard sampleWeight.shape == [count] || sampleWeight.shape == [count, 1] else {
                    throw KilnError(.invalidData, "\(weightLabel) has shape \(sampleWeight.shape); it needs one weight per "
                                    + "sample, [\(count)]")
                }
                try Self.requireFinite(sampleWeight, weightLabel)
                weights = sampleWeight.dtype == .float32 ? sampleWeight.scalars : sampleWeight.int32Scalars.map(Float.init)
            }
            if let classWeight {
                for row in 0..<count {
                    let label = try classLabel(target, row: row)
                    guard let weight = classWeight[label] else {
                        throw KilnError(.invalidData, "classWeight has no weight for class \(label) (y at row \(row)); "
                                        + "it has classes \(classWeight.keys.sorted())")
                    }
                    weights[row] *= weight
                }
            }
            targets.append(target)
            targetShapes.append(targetShape)
            weightColumns.append(Column(floats: weights, width: 1))
        }
        return DataSet(count: count, inputs: inputColumns, inputShapes: inputShapes, targets: targets, targetShapes: targetShapes,
                       weights: weightColumns)
    }

    /// The per-sample target shape for `y`: class indices for sparse losses, the output's
    /// shape when the element counts agree, `y`'s own shape otherwise (custom losses).
    private func targetShape(for y: Tensor, loss: Loss?, outputShape: [Int], label: String) throws -> [Int] {
        let perSample = Array(y.shape.dropFirst())
        let elements = perSample.reduce(1, *)
        if let loss, loss.sparseTargets {
            if elements == 1, perSample.count <= 1 { return [] }
            // An output of several steps takes one class index per step, as in Keras.
            let steps = Array(outputShape.dropLast())
            guard outputShape.count >= 2, Input.fits(perSample, steps) else {
                throw KilnError(.invalidData, "loss \(loss.name) takes one class index per sample"
                                + (outputShape.count >= 2 ? " or per step \(Layer.shapesText([steps]))" : "")
                                + ", got \(label) of shape \(y.shape)")
            }
            return perSample
        }
        // An output with a None size (a sequence) takes targets whose other sizes match.
        if outputShape.contains(Input.none) {
            if Input.fits(perSample, outputShape) { return perSample }
        } else if elements == outputShape.reduce(1, *) {
            return outputShape
        }
        if loss?.config == nil { return perSample }
        throw KilnError(.invalidData, "\(label) of shape \(y.shape) does not match the model's output "
                        + "\(Layer.shapesText([outputShape]))" + (elements == 1 ? "; for class indices use a sparse loss" : ""))
    }

    /// Class indices must be whole numbers in `0..<classes`.
    private func checkLabels(_ target: Column, outputShape: [Int], label: String) throws {
        let classes = outputShape.last ?? 1
        for index in 0..<(target.count * target.width) {
            let value = target.float(index), row = index / Swift.max(target.width, 1)
            guard value == value.rounded(.towardZero), value >= 0, value < Float(classes) else {
                let place = target.width > 1 ? "row \(row), step \(index % target.width)" : "row \(row)"
                throw KilnError(.invalidData, "\(label) at \(place) is \(value), not a class index in 0..<\(classes) "
                                + "(the output \(Layer.shapesText([outputShape])) has \(classes) classes)")
            }
        }
    }

    /// The class of a row for `classWeight`: the index, the 0/1 label, or the one-hot position.
    ///
    /// - Throws: ``KilnError`` naming the row if a single label is not a finite class number.
    private func classLabel(_ target: Column, row: Int) throws -> Int {
        if target.width == 1 {
            let value = target.float(row).rounded()
            guard value.isFinite, Swift.abs(value) < 2_147_483_648 else {
                throw KilnError(.invalidData, "y at row \(row) is \(target.float(row)), not a class for classWeight")
            }
            return Int(value)
        }
        var best = 0
        for k in 1..<target.width where target.float(row * target.width + k) > target.float(row * target.width + best) {
            best = k
        }
        return best
    }

    /// Throws naming the first NaN or infinite element's row and column.
    static func requireFinite(_ tensor: Tensor, _ what: String) throws {
        guard tensor.dtype == .float32 else { return }
        try tensor.scalars.withUnsafeBufferPointer { try requireFinite($0, shape: tensor.shape, what) }
    }

    /// Checks that the elements of a value of `shape` (rows along its first axis) are finite.
    ///
    /// - Throws: ``KilnError`` naming `what`, the row and the column of the first that is not.
    static func requireFinite(_ buffer: UnsafeBufferPointer<Float>, shape: [Int], _ what: String) throws {
        // One pass the compiler vectorises (every exponent bit set marks NaN and infinity);
        // the element is looked for only when there is one.
        let exponent: UInt32 = 0x7F80_0000
        let nonFinite = buffer.reduce(into: UInt32(0)) { found, x in found |= (x.bitPattern & exponent) == exponent ? 1 : 0 }
        guard nonFinite != 0, let index = buffer.firstIndex(where: { !$0.isFinite }) else { return }
        let width = Swift.max(1, buffer.count / Swift.max(1, shape.first ?? 1))
        let row = index / width
        let position = Indexing.unravel(index % width, in: Array(shape.dropFirst()))
        let column = position.count == 1 ? "column \(position[0])" : "position \(position)"
        throw KilnError(.invalidData, "\(what) has \(buffer[index]) at row \(row), \(column); clean the data, or set "
                        + "model.checksFiniteInputs = false to let it through")
    }
}
