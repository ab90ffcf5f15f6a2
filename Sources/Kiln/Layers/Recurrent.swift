import KilnGraph

/// What ``SimpleRNN``, ``LSTM`` and ``GRU`` share: a cell applied along the time axis as one
/// loop in the graph (a scan), whatever the number of steps.
///
/// Shapes: input `[batch, steps, features]`, optionally followed by the initial states
/// (`[batch, units]` each; zeros without them), as Keras' `initial_state`; output
/// `[batch, units]` (the last step's), or `[batch, steps, units]` with `returnSequences`;
/// with `returnState`, the final states (`[batch, units]` each) follow it as further outputs
/// (see ``Layer/callAll(_:)-([SymbolicTensor])``).
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
    /// Whether the final states follow the output as further outputs (Keras' `return_state`):
    /// `[output, h]`, or `[output, h, c]` for an LSTM.
    public let returnState: Bool
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
    /// every step (Keras' `dropout`); with `recurrentDropout`, one mask per gate, as Keras.
    public let dropout: Float
    /// The fraction of the state dropped in training before its product with the recurrent
    /// kernel (Keras' `recurrent_dropout`), with one mask per gate per sequence for every
    /// step; the state carried on is not dropped.
    public let recurrentDropout: Float

    init(units: Int, activation: ActivationFunction, useBias: Bool, returnSequences: Bool, returnState: Bool, goBackwards: Bool,
         kernelInitializer: Initializer, recurrentInitializer: Initializer, biasInitializer: Initializer, dropout: Float,
         recurrentDropout: Float, name: String?) {
        self.dropout = dropout
        self.recurrentDropout = recurrentDropout
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.returnSequences = returnSequences
        self.returnState = returnState
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
    /// gates·units]` (bias included), the output state's products with the recurrent kernel
    /// (with recurrent dropout in training) and the recurrent bias.
    func step(states: [Node], input: Node, recurrent: StateProducts, recurrentBias: Node?) throws -> [Node] {
        [try activation.apply(input + recurrent.product(0..<1))]
    }

    // MARK: Layer

    override public var config: [String: JSONValue] {
        ["units": .number(Double(units)), "activation": activation.config, "use_bias": .bool(useBias),
         "return_sequences": .bool(returnSequences), "return_state": .bool(returnState), "go_backwards": .bool(goBackwards),
         "kernel_initializer": kernelInitializer.config, "recurrent_initializer": recurrentInitializer.config,
         "bias_initializer": biasInitializer.config, "dropout": .number(Double(dropout)),
         "recurrent_dropout": .number(Double(recurrentDropout))]
    }

    override public var outputCount: Int { returnState ? 1 + stateCount : 1 }

    override public func build(inputShapes: [[Int]]) throws {
        let (_, features) = try sequenceShape(inputShapes)
        guard units > 0 else { throw KilnError(.invalidArgument, "units must be positive, got \(units)") }
        guard dropout >= 0 && dropout < 1 else { throw KilnError(.invalidArgument, "dropout must be in [0, 1), got \(dropout)") }
        guard recurrentDropout >= 0 && recurrentDropout < 1 else {
            throw KilnError(.invalidArgument, "recurrentDropout must be in [0, 1), got \(recurrentDropout)")
        }
        try addWeight("kernel", shape: [features, gates * units], initializer: kernelInitializer)
        try addWeight("recurrent_kernel", shape: [units, gates * units], initializer: recurrentInitializer)
        if useBias { try addWeight("bias", value: initialBias()) }
    }

    /// Sequences of any number of steps with the same features (and the same initial states).
    override public func accepts(inputShapes shapes: [[Int]], builtFor built: [[Int]]) -> Bool {
        Layer.sameLastAxes(shapes, built, sameRank: true)
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        let (steps, _) = try sequenceShape(inputShapes)
        return returnSequences ? [steps, units] : [units]
    }

    override public func outputShapes(inputShapes: [[Int]]) throws -> [[Int]] {
        [try outputShape(inputShapes: inputShapes)] + Array(repeating: [units], count: outputCount - 1)
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
        try callAll(inputs, masks: [nil], context: context)[0]
    }

    override public func call(_ inputs: [Node], masks: [Node?], context: LayerContext) throws -> Node {
        try callAll(inputs, masks: masks, context: context)[0]
    }

    /// The output and, with `returnState`, the final states. With a mask (`[batch, steps]`,
    /// from an ``Embedding`` with `maskZero`), a masked step keeps the states it began with,
    /// and its output is the last unmasked step's, as in Keras.
    override public func callAll(_ inputs: [Node], masks: [Node?], context: LayerContext) throws -> [Node] {
        let x = inputs[0], graph = x.graph
        guard case .size(let stepCount) = x.shape[1], case .size(let features) = x.shape[2] else {
            throw KilnError(.shapeMismatch, "needs a static number of steps and features, got \(x.type)")
        }
        let kernel = try context.variable(variables[0]), recurrentKernel = try context.variable(variables[1])
        let bias = useBias ? try context.variable(variables[2]) : nil

        // Every step's input times the kernel, as one product ahead of the loop, time-major.
        // Dropout keeps one mask of the features per sequence, the same at every step; with
        // recurrent dropout, Keras draws one per gate, each multiplying its gate's columns.
        let width = gates * units
        let sequence: Node
        if recurrentDropout > 0 && dropout > 0 && context.training {
            sequence = try concatenate((0..<gates).map { gate in
                let dropped = try context.dropout(x, rate: dropout, maskShape: [.batch, 1, Dim.size(features)])
                return try timeMajorProduct(dropped, slice(kernel, starts: [0, gate * units], sizes: [features, units]))
            }, axis: 2)
        } else {
            let dropped = try context.dropout(x, rate: dropout, maskShape: [.batch, 1, Dim.size(features)])
            sequence = try timeMajorProduct(dropped, kernel)
        }

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
        // Recurrent dropout's masks, one `[batch, units]` block per gate, drawn once per batch.
        let recurrentMask = try context.dropoutMask(rate: recurrentDropout, shape: [.batch, Dim.size(width)])
        let recurrentMaskParameter = try recurrentMask.map { try body.placeholder("recurrent_mask", shape: $0.shape) }
        let biased = try inputBiasParameter.map { try input + $0 } ?? input
        let products = StateProducts(state: states[0], kernel: recurrent, masks: recurrentMaskParameter, units: units)
        var next = try step(states: states, input: biased, recurrent: products, recurrentBias: recurrentBiasParameter)
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
                            invariants: [recurrent] + [inputBiasParameter, recurrentBiasParameter, recurrentMaskParameter].compactMap { $0 },
                            newCarries: next, outputs: returnSequences ? [next[0]] : [], length: stepCount, reverse: goBackwards)
        let zeros = try broadcast(graph.constant(0), to: [.batch, Dim.size(units)])
        let initial = inputs.count > 1 ? Array(inputs.dropFirst()) : Array(repeating: zeros, count: stateCount)
        let out = try graph.scan(loop, carries: initial, sequences: sequences,
                                 invariants: [recurrentKernel] + [inputBias, recurrentBias, recurrentMask].compactMap { $0 })
        var output = out.finalCarries[0]
        if returnSequences {
            let outputs = goBackwards ? try reversed(out.outputs[0], axis: 0) : out.outputs[0]
            output = try transpose(outputs, permutation: [1, 0, 2])
        }
        return returnState ? [output] + out.finalCarries : [output]
    }

    /// `x` `[batch, steps, features]` times `kernel`, time-major (`[steps, batch, columns]`):
    /// the narrower of the input and the product is the one reordered.
    private func timeMajorProduct(_ x: Node, _ kernel: Node) throws -> Node {
        let reorderInput = (x.shape[2].staticSize ?? 0) <= (kernel.shape[1].staticSize ?? 0)
        let product = try matmul(reorderInput ? transpose(x, permutation: [1, 0, 2]) : x, kernel)
        return reorderInput ? product : try transpose(product, permutation: [1, 0, 2])
    }

    /// The step's products of the output state with the recurrent kernel's gate blocks: one
    /// product for all gates, or with recurrent dropout's masks (`[batch, gates·units]`), the
    /// state times each gate's mask times that gate's block, as Keras computes them.
    struct StateProducts {
        let state: Node
        let kernel: Node
        let masks: Node?
        let units: Int

        /// The state as gate `gate`'s product sees it (masked with recurrent dropout).
        func masked(_ gate: Int) throws -> Node {
            guard let masks else { return state }
            if masks.shape[1].staticSize == units { return try state * masks }
            return try state * slice(masks, starts: [0, gate * units], sizes: [-1, units])
        }

        /// The state's product with the kernel's columns of `gates`, `[batch, gates.count·units]`.
        func product(_ gates: Range<Int>) throws -> Node {
            let columns = kernel.shape[1].staticSize ?? 0
            func block(_ range: Range<Int>) throws -> Node {
                if range.count * units == columns { return kernel }
                return try slice(kernel, starts: [0, range.lowerBound * units], sizes: [-1, range.count * units])
            }
            guard masks != nil else { return try matmul(state, block(gates)) }
            let parts = try gates.map { try matmul(masked($0), block($0..<($0 + 1))) }
            return parts.count == 1 ? parts[0] : try concatenate(parts, axis: 1)
        }
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
                returnState: Bool = false, goBackwards: Bool = false, kernelInitializer: Initializer = .glorotUniform,
                recurrentInitializer: Initializer = .orthogonal(), biasInitializer: Initializer = .zeros, dropout: Float = 0,
                recurrentDropout: Float = 0, kernelRegularizer: Regularizer? = nil,
                recurrentRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                activityRegularizer: Regularizer? = nil, kernelConstraint: Constraint? = nil,
                recurrentConstraint: Constraint? = nil, biasConstraint: Constraint? = nil, name: String? = nil) {
        super.init(units: units, activation: activation, useBias: useBias, returnSequences: returnSequences,
                   returnState: returnState, goBackwards: goBackwards, kernelInitializer: kernelInitializer,
                   recurrentInitializer: recurrentInitializer, biasInitializer: biasInitializer, dropout: dropout,
                   recurrentDropout: recurrentDropout, name: name)
        regularize(kernel: (kernelRegularizer, kernelConstraint), recurrent: (recurrentRegularizer, recurrentConstraint),
                   bias: (biasRegularizer, biasConstraint), activity: activityRegularizer)
    }
}
