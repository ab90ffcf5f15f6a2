import KilnGraph

/// What ``SimpleRNN``, ``LSTM`` and ``GRU`` share: a cell applied along the time axis as one
/// loop in the graph (a scan), whatever the number of steps.
///
/// Shapes: input `[batch, steps, features]`, optionally followed by the initial states
/// (`[batch, units]` each; zeros without them), as Keras' `initial_state`; output
/// `[batch, units]` (the last step's), or `[batch, steps, units]` with `returnSequences`.
/// Weights, in Keras' order and layout:
/// `kernel` `[features, gates·units]`, `recurrent_kernel` `[units, gates·units]`, and `bias`.
///
/// The product of every step's input with the kernel does not depend on the state, so it is
/// one matrix product over all steps ahead of the loop; each step multiplies only the state.
public class Recurrent: Layer {
    /// The size of the state and of each step's output.
    public let units: Int
    /// The cell's output activation (Keras: `tanh`).
    public let activation: ActivationFunction
    /// Whether there are biases.
    public let useBias: Bool
    /// Whether the output is every step's (`[batch, steps, units]`) or the last one's.
    public let returnSequences: Bool
    /// Whether the steps run from the last to the first; the sequence returned is then in
    /// that order too (its first element is the last step's), as in Keras.
    public let goBackwards: Bool
    /// How the kernel starts (Keras: Glorot uniform).
    public let kernelInitializer: Initializer
    /// How the recurrent kernel starts (Keras: orthogonal).
    public let recurrentInitializer: Initializer
    /// How the bias starts (Keras: zeros).
    public let biasInitializer: Initializer
    /// The fraction of input features dropped in training, with one mask per sequence for
    /// every step (Keras' `dropout`); Keras' `recurrent_dropout` is not supported.
    public let dropout: Float

    init(units: Int, activation: ActivationFunction, useBias: Bool, returnSequences: Bool, goBackwards: Bool,
         kernelInitializer: Initializer, recurrentInitializer: Initializer, biasInitializer: Initializer, dropout: Float,
         name: String?) {
        self.dropout = dropout
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.returnSequences = returnSequences
        self.goBackwards = goBackwards
        self.kernelInitializer = kernelInitializer
        self.recurrentInitializer = recurrentInitializer
        self.biasInitializer = biasInitializer
        super.init(name: name)
    }

    // MARK: What a cell defines

    /// How many blocks of `units` columns the kernels have (1, 4 for LSTM, 3 for GRU).
    var gates: Int { 1 }
    /// How many states the cell carries (2 for LSTM: `h` and `c`); the first is the output.
    var stateCount: Int { 1 }
    /// The bias's shape.
    var biasShape: [Int] { [gates * units] }
    /// The bias's first value.
    func initialBias() throws -> Tensor { try biasInitializer.tensor(shape: biasShape) }
    /// The bias added to the input's product with the kernel.
    func inputBias(_ bias: Node) throws -> Node { bias }
    /// The bias (or part of it) each step adds to the state's product, if any.
    func recurrentBias(_ bias: Node) throws -> Node? { nil }

    /// One step: the new states from the states, the step's input projection `[batch,
    /// gates·units]` (bias included) and the recurrent kernel (and recurrent bias).
    func step(states: [Node], input: Node, recurrentKernel: Node, recurrentBias: Node?) throws -> [Node] {
        [try activation.apply(input + matmul(states[0], recurrentKernel))]
    }

    // MARK: Layer

    override public var config: [String: JSONValue] {
        ["units": .number(Double(units)), "activation": activation.config, "use_bias": .bool(useBias),
         "return_sequences": .bool(returnSequences), "return_state": .bool(false), "go_backwards": .bool(goBackwards),
         "kernel_initializer": kernelInitializer.config, "recurrent_initializer": recurrentInitializer.config,
         "bias_initializer": biasInitializer.config, "dropout": .number(Double(dropout)), "recurrent_dropout": .number(0)]
    }

    override public func build(inputShapes: [[Int]]) throws {
        let (_, features) = try sequenceShape(inputShapes)
        guard units > 0 else { throw KilnError(.invalidArgument, "units must be positive, got \(units)") }
        guard dropout >= 0 && dropout < 1 else { throw KilnError(.invalidArgument, "dropout must be in [0, 1), got \(dropout)") }
        try addWeight("kernel", shape: [features, gates * units], initializer: kernelInitializer)
        try addWeight("recurrent_kernel", shape: [units, gates * units], initializer: recurrentInitializer)
        if useBias { try addWeight("bias", value: try initialBias()) }
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        let (steps, _) = try sequenceShape(inputShapes)
        return returnSequences ? [steps, units] : [units]
    }

    /// `[steps, features]` of the sequence, each at least 1, after checking the initial
    /// states, if given (Keras' `initial_state`: one `[units]` per state after the sequence).
    func sequenceShape(_ inputShapes: [[Int]]) throws -> (steps: Int, features: Int) {
        guard inputShapes.count == 1 || inputShapes.count == 1 + stateCount else {
            throw KilnError(.invalidArgument, "takes a sequence, or a sequence and its \(stateCount) initial state(s), "
                            + "got \(inputShapes.count) inputs \(Layer.shapesText(inputShapes))")
        }
        for (index, shape) in inputShapes.dropFirst().enumerated() where shape != [units] {
            throw KilnError(.shapeMismatch, "initial state \(index) must be [\(units)] per sample (the units), "
                            + "got \(Layer.shapesText([shape]))")
        }
        guard inputShapes[0].count == 2 else {
            throw KilnError(.shapeMismatch, "needs sequences [steps, features] per sample, got \(Layer.shapesText(inputShapes))")
        }
        guard inputShapes[0][0] >= 1, inputShapes[0][1] >= 1 else {
            throw KilnError(.shapeMismatch, "needs at least one step of at least one feature, got \(Layer.shapesText(inputShapes))")
        }
        return (inputShapes[0][0], inputShapes[0][1])
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        try call(inputs, masks: [nil], context: context)
    }

    /// With a mask (`[batch, steps]`, from an ``Embedding`` with `maskZero`), a masked step
    /// keeps the states it began with, and its output is the last unmasked step's, as in Keras.
    override public func call(_ inputs: [Node], masks: [Node?], context: LayerContext) throws -> Node {
        // One mask of the features per sequence, the same at every step.
        let x = try context.dropout(inputs[0], rate: dropout, maskShape: [.batch, 1, inputs[0].shape[2]])
        let graph = x.graph
        guard case .size(let stepCount) = x.shape[1] else {
            throw KilnError(.shapeMismatch, "needs a static number of steps, got \(x.type)")
        }
        let kernel = try context.variable(variables[0]), recurrentKernel = try context.variable(variables[1])
        let bias = useBias ? try context.variable(variables[2]) : nil

        // Every step's input times the kernel, as one product, time-major for the loop (the
        // narrower of the input and the product is the one reordered).
        let width = gates * units
        let reorderInput = (x.shape[2].staticSize ?? 0) <= width
        var sequence = try matmul(reorderInput ? transpose(x, permutation: [1, 0, 2]) : x, kernel)
        if !reorderInput { sequence = try transpose(sequence, permutation: [1, 0, 2]) }

        // The bias is added in the loop, where the step's slice is read anyway (and its
        // gradient is summed there), rather than in a pass over every step's product.
        let body = Graph()
        let states = try (0..<stateCount).map { try body.placeholder("state\($0)", shape: [.batch, Dim.size(units)]) }
        let input = try body.placeholder("input", shape: [.batch, Dim.size(width)])
        let recurrent = try body.placeholder("recurrent_kernel", shape: recurrentKernel.shape)
        let inputBias = try bias.map { try self.inputBias($0) }
        let inputBiasParameter = try inputBias.map { try body.placeholder("bias", shape: $0.shape) }
        let recurrentBias = try bias.flatMap { try self.recurrentBias($0) }
        let recurrentBiasParameter = try recurrentBias.map { try body.placeholder("recurrent_bias", shape: $0.shape) }
        let biased = try inputBiasParameter.map { try input + $0 } ?? input
        var next = try step(states: states, input: biased, recurrentKernel: recurrent, recurrentBias: recurrentBiasParameter)
        var steps = [input], sequences = [sequence]
        if let mask = masks.first ?? nil {
            guard mask.shape == [.batch, Dim.size(stepCount)] else {
                throw KilnError(.shapeMismatch, "the mask \(mask.type) does not fit sequences \(x.type)")
            }
            let keep = try body.placeholder("mask", shape: [.batch, 1], dtype: .bool)
            next = try zip(next, states).map { try select(keep, $0, $1) }
            steps.append(keep)
            sequences.append(try reshape(transpose(mask, permutation: [1, 0]), to: [Dim.size(stepCount), .batch, 1]))
        }
        let loop = try Scan(body: body, carries: states, steps: steps,
                            invariants: [recurrent] + [inputBiasParameter, recurrentBiasParameter].compactMap { $0 },
                            newCarries: next, outputs: returnSequences ? [next[0]] : [], length: stepCount, reverse: goBackwards)
        let zeros = try broadcast(graph.constant(0), to: [.batch, Dim.size(units)])
        let initial = inputs.count > 1 ? Array(inputs.dropFirst()) : Array(repeating: zeros, count: stateCount)
        let out = try graph.scan(loop, carries: initial, sequences: sequences,
                                 invariants: [recurrentKernel] + [inputBias, recurrentBias].compactMap { $0 })
        guard returnSequences else { return out.finalCarries[0] }
        let outputs = goBackwards ? try reversed(out.outputs[0], axis: 0) : out.outputs[0]
        return try transpose(outputs, permutation: [1, 0, 2])
    }

    /// With `returnSequences`, the input's mask, in the order of the steps returned.
    override public func computeMask(_ inputs: [Node], masks: [Node?]) throws -> Node? {
        guard returnSequences, let mask = masks.first ?? nil else { return nil }
        return goBackwards ? try reversed(mask, axis: 1) : mask
    }

    /// `x` with the order of axis `axis` (of static length) reversed.
    func reversed(_ x: Node, axis: Int) throws -> Node {
        guard case .size(let length) = x.shape[axis] else {
            throw KilnError(.shapeMismatch, "cannot reverse the batch axis of \(x.type)")
        }
        let order = try Tensor(shape: [length], scalars: (0..<length).reversed().map { Int32($0) })
        return try gather(x, indices: x.graph.constant(order), axis: axis)
    }
}

/// `h' = activation(x·W + h·U + b)`: Keras' `SimpleRNN`.
///
/// Shapes: input `[batch, steps, features]`; output `[batch, units]` or, with
/// `returnSequences`, `[batch, steps, units]`. Weights: `kernel` `[features, units]`,
/// `recurrent_kernel` `[units, units]`, `bias` `[units]`.
public final class SimpleRNN: Recurrent {
    /// A layer of `units` with Keras' defaults.
    public init(_ units: Int, activation: ActivationFunction = .tanh, useBias: Bool = true, returnSequences: Bool = false,
                goBackwards: Bool = false, kernelInitializer: Initializer = .glorotUniform,
                recurrentInitializer: Initializer = .orthogonal(), biasInitializer: Initializer = .zeros, dropout: Float = 0,
                name: String? = nil) {
        super.init(units: units, activation: activation, useBias: useBias, returnSequences: returnSequences,
                   goBackwards: goBackwards, kernelInitializer: kernelInitializer, recurrentInitializer: recurrentInitializer,
                   biasInitializer: biasInitializer, dropout: dropout, name: name)
    }
}
