/// A graph compiled for one backend: named inputs (the graph's placeholders), named
/// outputs, and variables that persist across runs.
///
/// Every `assign` in the graph takes effect at the end of each run, after all outputs have
/// been computed from the values variables had when the run began.
public protocol Program: AnyObject {
    /// The inputs, outputs and variables.
    var signature: ProgramSignature { get }

    /// Runs the program once.
    ///
    /// - Parameter feeds: A tensor for each input, by placeholder name. Every batch dimension
    ///   of every feed must have the same size.
    /// - Returns: The value of each output, by name.
    /// - Throws: ``KilnError`` for an unknown or missing feed, a feed of the wrong shape or
    ///   element type, or a value out of range while running (an index, a label).
    func run(feeds: [String: Tensor]) throws -> [String: Tensor]

    /// Runs the program once for its assigns alone, computing no outputs, with each input
    /// given as the address of its elements: the inner loop of training, which on the JIT
    /// backend allocates nothing.
    ///
    /// - Parameters:
    ///   - batch: The batch size of every input.
    ///   - inputs: For each of `signature.inputs`, in order, the address of its elements
    ///     (row-major, of the input's type resolved with `batch`), valid during the call.
    /// - Throws: ``KilnError`` for a negative batch size, or a value out of range while
    ///   running (an index, a label).
    func runAssigns(batch: Int, inputs: UnsafeBufferPointer<UnsafeRawPointer>) throws

    /// Runs a program of one input on `input` and returns the output named `output`: the
    /// path of prediction, which on the JIT backend builds no dictionary.
    ///
    /// - Throws: ``KilnError`` as ``run(feeds:)`` does, if the program has other inputs, or
    ///   if it has no output `output`.
    func run(_ input: Tensor, output: String) throws -> Tensor

    /// A call of this one-input program at `batch` that writes output `output` into memory
    /// the caller owns, checked once and then made again and again (see ``PreparedCall``).
    ///
    /// - Throws: ``KilnError`` if the program has other inputs or no output `output`, if it
    ///   assigns variables, or if `batch` is negative.
    func prepare(batch: Int, output: String) throws -> any PreparedCall

    /// The variables this program reads and writes, shared with every program compiled with
    /// the same store.
    var variables: VariableStore { get }
}

extension Program {
    /// Copies the inputs into tensors and runs ``run(feeds:)``, discarding the outputs.
    public func runAssigns(batch: Int, inputs: UnsafeBufferPointer<UnsafeRawPointer>) throws {
        guard inputs.count == signature.inputs.count else {
            throw KilnError(.missingFeed, "the program takes \(signature.inputs.count) inputs, got \(inputs.count)")
        }
        guard batch >= 0 else { throw KilnError(.invalidArgument, "the batch size must not be negative, got \(batch)") }
        var feeds: [String: Tensor] = [:]
        for (input, address) in zip(signature.inputs, inputs) {
            feeds[input.name] = Tensor(shape: input.type.shape.resolved(batch: batch), dtype: input.type.dtype,
                                       copyingFrom: address)
        }
        _ = try run(feeds: feeds)
    }

    /// Runs ``run(feeds:)`` with `input` fed to the program's one input.
    public func run(_ input: Tensor, output: String) throws -> Tensor {
        _ = try signature.batchSize(ofOnlyInput: input)
        guard let value = try run(feeds: [signature.inputs[0].name: input])[output] else {
            throw KilnError(.unknownName, "the program has no output \(String(reflecting: output))")
        }
        return value
    }

    /// The current value of a variable.
    ///
    /// - Throws: ``KilnError`` if there is no variable `name`.
    public func variable(_ name: String) throws -> Tensor { try variables.value(name) }

    /// Replaces the value of a variable.
    ///
    /// - Throws: ``KilnError`` if there is no variable `name` or `value` has another type.
    public func setVariable(_ name: String, to value: Tensor) throws { try variables.setValue(value, for: name) }
}
