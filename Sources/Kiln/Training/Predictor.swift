import KilnGraph
import Synchronization

/// A model's prediction for a fixed number of samples, made again and again without
/// allocating: what serving one request at a time needs. What does not change from call to
/// call (the program, the shapes, the arena) is worked out once, by ``Model/predictor(batchSize:)``;
/// a call checks the sizes and, unless ``Model/checksFiniteInputs`` was off when the predictor
/// was made, that the input is finite, runs the compiled program once and writes the output
/// where the caller says.
///
/// ```swift
/// let predictor = try model.predictor()           // one sample a call
/// var y = [Float](repeating: 0, count: predictor.outputCount)
/// try predictor.predict(x, into: &y)              // x: predictor.inputCount floats
/// ```
///
/// Shapes: the input is `[batchSize] + input shape` and the output `[batchSize] + output
/// shape`, row-major. It computes with the model's weights as they are at each call (`fit`,
/// ``Model/setWeights(_:)`` and loading update them in place); after the model's layers change
/// (adding or removing one, freezing one), make a new predictor. A predictor serves one call
/// at a time: calls from several threads take turns; make one per thread to run them at once.
public final class Predictor: @unchecked Sendable {
    /// The samples a call predicts.
    public let batchSize: Int
    /// The input's shape, `[batchSize] + the model input's shape`.
    public var inputShape: [Int] { call.inputShape }
    /// The output's shape, `[batchSize] + the model output's shape`.
    public var outputShape: [Int] { call.outputShape }
    /// The number of floats a call reads.
    public let inputCount: Int
    /// The number of floats a call writes.
    public let outputCount: Int

    private let call: any PreparedCall
    private let checksFinite: Bool
    private let modelName: String

    init(call: any PreparedCall, batchSize: Int, checksFinite: Bool, modelName: String) {
        self.call = call
        self.batchSize = batchSize
        self.checksFinite = checksFinite
        self.modelName = modelName
        inputCount = Shape.product(call.inputShape) ?? 0
        outputCount = Shape.product(call.outputShape) ?? 0
    }

    /// Predicts the samples in `x` (``inputCount`` floats, row-major `inputShape`) into `y`
    /// (``outputCount`` floats).
    ///
    /// - Throws: ``KilnError`` if `x` or `y` has another number of elements (naming the
    ///   shapes), or `x` holds NaN or infinity (naming the row and column).
    public func predict(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) throws {
        guard x.count == inputCount, let input = x.baseAddress else {
            throw KilnError(.invalidData, "model \(String(reflecting: modelName)): the predictor takes \(inputCount) floats "
                            + "(shape \(inputShape)), got \(x.count)")
        }
        guard y.count == outputCount, let output = y.baseAddress else {
            throw KilnError(.invalidData, "model \(String(reflecting: modelName)): the predictor writes \(outputCount) floats "
                            + "(shape \(outputShape)), got room for \(y.count)")
        }
        if checksFinite { try Model.requireFinite(x, shape: inputShape, "x") }
        try call.run(UnsafeRawPointer(input), into: UnsafeMutableRawPointer(output))
    }

    /// Predicts the samples in `x` into `y`, as the call on buffers does.
    public func predict(_ x: [Float], into y: inout [Float]) throws {
        try x.withUnsafeBufferPointer { input in
            try y.withUnsafeMutableBufferPointer { output in try predict(input, into: output) }
        }
    }

    /// The prediction for the samples in `x`, as a new array of ``outputCount`` floats.
    public func predict(_ x: [Float]) throws -> [Float] {
        var y = [Float](repeating: 0, count: outputCount)
        try predict(x, into: &y)
        return y
    }
}

extension Model {
    /// A ``Predictor`` of `batchSize` samples a call: the model's `predict` for serving,
    /// without a tensor or an allocation per call. The model must be built, with one `f32`
    /// input of a known shape and one output.
    ///
    /// - Throws: ``KilnError`` if the model is not built, has several inputs or outputs, an
    ///   input of another type or with a ``Input/none`` size, or `batchSize` is below 1.
    public func predictor(batchSize: Int = 1) throws -> Predictor {
        guard batchSize >= 1 else { throw KilnError(.invalidArgument, "batchSize must be at least 1, got \(batchSize)") }
        try requireBuilt()
        if let failure { throw failure }
        guard inputs.count == 1, outputs.count == 1 else {
            throw KilnError(.invalidArgument, "model \(String(reflecting: name)) has \(inputs.count) inputs and \(outputs.count) "
                            + "outputs; a predictor takes one of each: use predictAll")
        }
        guard inputs[0].dtype == .float32 else {
            throw KilnError(.invalidArgument, "model \(String(reflecting: name)): a predictor takes an f32 input, input "
                            + "\(String(reflecting: inputs[0].name)) is \(inputs[0].dtype): use predict")
        }
        let program = try predictProgram(inputShapes: [inputs[0].shape])
        let call = try program.prepare(batch: batchSize, output: predictOutputNames[0])
        guard call.outputType == .float32 else {
            throw KilnError(.invalidArgument, "model \(String(reflecting: name)): its output is \(call.outputType); "
                            + "a predictor writes f32: use predict")
        }
        return Predictor(call: call, batchSize: batchSize, checksFinite: checksFiniteInputs, modelName: name)
    }
}
