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

/// Validated samples for training or evaluation: the model inputs, targets shaped for the
/// loss, and one weight per sample.
struct DataSet {
    let count: Int
    let inputs: [Column]
    let target: Column?
    let targetShape: [Int]
    let weights: Column?

    /// How many batches of `batchSize` the samples make (the last may be short), without
    /// overflowing for any positive `batchSize`.
    func batchCount(_ batchSize: Int) -> Int { count == 0 ? 0 : (count - 1) / batchSize + 1 }

    /// The rows `range`.
    func rows(_ range: Range<Int>) -> DataSet {
        DataSet(count: range.count, inputs: inputs.map { $0.rows(range) }, target: target?.rows(range),
                targetShape: targetShape, weights: weights?.rows(range))
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
            guard x.shape.count >= 1, Array(x.shape.dropFirst()) == input.shape else {
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

    /// Checks `x` (and `y`, sample and class weights when given) against the model and loss,
    /// and copies them into columns.
    ///
    /// - Throws: ``KilnError`` naming the input, row and column of a bad value, or the shapes
    ///   that disagree.
    func dataSet(_ xs: [Tensor], _ y: Tensor?, sampleWeight: Tensor? = nil, classWeight: [Int: Float]? = nil,
                 what: String = "x") throws -> DataSet {
        let count = try checkInputs(xs, what: what)
        let inputColumns = zip(xs, inputs).map { Column($0, as: $1.dtype) }
        guard let y else {
            return DataSet(count: count, inputs: inputColumns, target: nil, targetShape: [], weights: nil)
        }
        guard y.shape.first == count else {
            throw KilnError(.invalidData, "\(what) has \(count) samples but y has \(y.shape.first ?? 0) (shape \(y.shape))")
        }
        guard y.dtype != .bool else { throw KilnError(.invalidData, "y is bool; give f32 or i32 values") }
        if checksFiniteInputs { try Self.requireFinite(y, "y") }
        let targetShape = try self.targetShape(for: y)
        let target = Column(y, as: .float32)
        if let loss = compileOptions?.loss, loss.sparseTargets { try checkLabels(target) }
        var weights = [Float](repeating: 1, count: count)
        if let sampleWeight {
            guard sampleWeight.shape == [count] || sampleWeight.shape == [count, 1] else {
                throw KilnError(.invalidData, "sampleWeight has shape \(sampleWeight.shape); it needs one weight per sample, [\(count)]")
            }
            try Self.requireFinite(sampleWeight, "sampleWeight")
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
        return DataSet(count: count, inputs: inputColumns, target: target, targetShape: targetShape,
                       weights: Column(floats: weights, width: 1))
    }

    /// The per-sample target shape for `y`: class indices for sparse losses, the output's
    /// shape when the element counts agree, `y`'s own shape otherwise (custom losses).
    private func targetShape(for y: Tensor) throws -> [Int] {
        let perSample = Array(y.shape.dropFirst())
        let elements = perSample.reduce(1, *)
        let outputShape = output?.shape ?? []
        if let loss = compileOptions?.loss, loss.sparseTargets {
            guard elements == 1 else {
                throw KilnError(.invalidData, "loss \(loss.name) takes one class index per sample, "
                                + "got y of shape \(y.shape)")
            }
            return []
        }
        if elements == outputShape.reduce(1, *) { return outputShape }
        if compileOptions?.loss.config == nil { return perSample }
        throw KilnError(.invalidData, "y of shape \(y.shape) does not match the model's output \(Layer.shapesText([outputShape]))"
                        + (elements == 1 ? "; for class indices use a sparse loss" : ""))
    }

    /// Class indices must be whole numbers in `0..<classes`.
    private func checkLabels(_ target: Column) throws {
        let classes = output?.shape.last ?? 1
        for row in 0..<target.count {
            let value = target.float(row)
            guard value == value.rounded(.towardZero), value >= 0, value < Float(classes) else {
                throw KilnError(.invalidData, "y at row \(row) is \(value), not a class index in 0..<\(classes) "
                                + "(the output \(Layer.shapesText([output?.shape ?? []])) has \(classes) classes)")
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
        let scalars = tensor.scalars
        // One pass the compiler vectorises (every exponent bit set marks NaN and infinity);
        // the element is looked for only when there is one.
        let exponent: UInt32 = 0x7F80_0000
        let nonFinite = scalars.withUnsafeBufferPointer { buffer in
            buffer.reduce(into: UInt32(0)) { found, x in found |= (x.bitPattern & exponent) == exponent ? 1 : 0 }
        }
        guard nonFinite != 0, let index = scalars.firstIndex(where: { !$0.isFinite }) else { return }
        let width = Swift.max(1, scalars.count / Swift.max(1, tensor.shape.first ?? 1))
        let row = index / width
        let position = Indexing.unravel(index % width, in: Array(tensor.shape.dropFirst()))
        let column = position.count == 1 ? "column \(position[0])" : "position \(position)"
        throw KilnError(.invalidData, "\(what) has \(scalars[index]) at row \(row), \(column); clean the data, or set "
                        + "model.checksFiniteInputs = false to let it through")
    }
}
