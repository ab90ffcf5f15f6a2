/// One input to one output of a program at one batch size, called again and again (a
/// model's prediction of one sample at a time, in a loop): everything that does not change
/// from call to call is checked once, when it is made, and each call reads the input from,
/// and writes the output to, memory the caller owns.
///
/// A call is not safe to make from several threads at once on the same object: make one per
/// thread (``Program/prepare(batch:output:)``).
public protocol PreparedCall: AnyObject {
    /// The input's type resolved with the batch size.
    var inputShape: [Int] { get }
    /// The output's type resolved with the batch size.
    var outputShape: [Int] { get }
    /// The input's element type.
    var inputType: DType { get }
    /// The output's element type.
    var outputType: DType { get }

    /// Runs the program once on the input at `input` (the elements of ``inputShape``, row-major,
    /// as C lays them out) and writes the output's elements to `output`.
    ///
    /// - Throws: ``KilnError`` for a value out of range while running (an index, a label).
    func run(_ input: UnsafeRawPointer, into output: UnsafeMutableRawPointer) throws
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
    let inputShape: [Int], outputShape: [Int]
    let inputType: DType, outputType: DType

    init(_ program: any Program, batch: Int, output: String) throws {
        let (input, result) = try program.signature.preparedCall(batch: batch, output: output)
        self.program = program
        self.output = output
        inputShape = input.type.shape.resolved(batch: batch)
        outputShape = result.type.shape.resolved(batch: batch)
        inputType = input.type.dtype
        outputType = result.type.dtype
    }

    func run(_ input: UnsafeRawPointer, into output: UnsafeMutableRawPointer) throws {
        let value = try program.run(Tensor(shape: inputShape, dtype: inputType, copyingFrom: input), output: self.output)
        value.copyBytes(to: output)
    }
}

extension ProgramSignature {
    /// The one input and the output `output` of a ``PreparedCall`` at `batch`.
    ///
    /// - Throws: ``KilnError`` if the program does not have exactly one input, has no output
    ///   `output`, assigns variables, or `batch` is negative.
    public func preparedCall(batch: Int, output: String) throws -> (input: Input, output: Output) {
        guard inputs.count == 1, optionalInputs.isEmpty else {
            throw KilnError(.missingFeed, "a prepared call takes a program of one input, not \(inputs.count + optionalInputs.count)")
        }
        guard let result = outputs.first(where: { $0.name == output }) else {
            throw KilnError(.unknownName, "the program has no output \(String(reflecting: output))")
        }
        guard !assigns else { throw KilnError(.invalidArgument, "a prepared call cannot run a program that assigns variables") }
        guard batch >= 0 else { throw KilnError(.invalidArgument, "the batch size must not be negative, got \(batch)") }
        return (inputs[0], result)
    }
}
