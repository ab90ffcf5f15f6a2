/// One input to one output of a program at one batch size, called again and again (a
/// model's prediction of one sample at a time, in a loop): everything that does not change
/// from call to call is checked once, when it is made, and each call reads the input from,
/// and writes the output to, memory the caller owns.
///
/// Calls on one object may take turns (the JIT's share one arena): make one per thread
/// (``Program/prepare(batch:output:)``) to run them at once.
public protocol PreparedCall: AnyObject {
    /// The input's and the output's shapes and element types.
    var types: PreparedCallTypes { get }

    /// Runs the program once on the input at `input` (the elements of ``inputShape``, row-major,
    /// as C lays them out) and writes the output's elements to `output`.
    ///
    /// - Throws: ``KilnError`` for a value out of range while running (an index, a label).
    func run(_ input: UnsafeRawPointer, into output: UnsafeMutableRawPointer) throws
}

/// The input and output of a ``PreparedCall``: their types resolved with its batch size.
public struct PreparedCallTypes: Sendable, Equatable {
    /// The input's shape.
    public let inputShape: [Int]
    /// The output's shape.
    public let outputShape: [Int]
    /// The input's element type.
    public let inputType: DType
    /// The output's element type.
    public let outputType: DType
}

extension PreparedCall {
    /// The input's shape (``PreparedCallTypes/inputShape``).
    public var inputShape: [Int] { types.inputShape }
    /// The output's shape.
    public var outputShape: [Int] { types.outputShape }
    /// The input's element type.
    public var inputType: DType { types.inputType }
    /// The output's element type.
    public var outputType: DType { types.outputType }
}

extension Program {
    /// ``run(_:output:)`` with the input copied into a tensor and the output copied out of
    /// one: the prepared call of a backend without a faster one.
    public func prepare(batch: Int, output: String) throws -> any PreparedCall {
        try TensorCall(self, batch: batch, output: output)
    }
}

/// ``PreparedCall`` through ``Program/run(_:output:)``, for any backend.
private final class TensorCall: PreparedCall {
    let program: any Program
    let output: String
    let types: PreparedCallTypes

    init(_ program: any Program, batch: Int, output: String) throws {
        types = try program.signature.preparedCall(batch: batch, output: output)
        self.program = program
        self.output = output
    }

    func run(_ input: UnsafeRawPointer, into output: UnsafeMutableRawPointer) throws {
        let value = try program.run(Tensor(shape: inputShape, dtype: inputType, copyingFrom: input), output: self.output)
        value.copyBytes(to: output)
    }
}

extension ProgramSignature {
    /// The types of a ``PreparedCall`` of the one input and the output `output` at `batch`.
    ///
    /// - Throws: ``KilnError`` if the program does not have exactly one input, has no output
    ///   `output`, assigns variables, or `batch` is negative.
    public func preparedCall(batch: Int, output: String) throws -> PreparedCallTypes {
        guard inputs.count == 1, optionalInputs.isEmpty else {
            throw KilnError(.missingFeed, "a prepared call takes a program of one input, not \(inputs.count + optionalInputs.count)")
        }
        guard let result = outputs.first(where: { $0.name == output }) else {
            throw KilnError(.unknownName, "the program has no output \(String(reflecting: output))")
        }
        guard !assigns else { throw KilnError(.invalidArgument, "a prepared call cannot run a program that assigns variables") }
        guard batch >= 0 else { throw KilnError(.invalidArgument, "the batch size must not be negative, got \(batch)") }
        return PreparedCallTypes(inputShape: inputs[0].type.shape.resolved(batch: batch),
                                 outputShape: result.type.shape.resolved(batch: batch),
                                 inputType: inputs[0].type.dtype, outputType: result.type.dtype)
    }
}
