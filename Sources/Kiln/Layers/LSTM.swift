import KilnGraph

/// Long short-term memory (Keras' `LSTM`): gates `i, f, c, o` in that order in the kernels'
/// columns, `z = x·W + h·U + b`, `c' = σ(z_f)·c + σ(z_i)·tanh(z_c)`, `h' = σ(z_o)·tanh(c')`
/// (σ the recurrent activation, tanh the activation).
///
/// Shapes: input `[batch, steps, features]`; output `[batch, units]` or, with
/// `returnSequences`, `[batch, steps, units]`. Weights: `kernel` `[features, 4·units]`,
/// `recurrent_kernel` `[units, 4·units]`, `bias` `[4·units]`.
public final class LSTM: Recurrent {
    /// The gates' activation (Keras: sigmoid).
    public let recurrentActivation: ActivationFunction
    /// Whether the forget gate's bias starts at one (Keras' default) instead of from the bias initializer.
    public let unitForgetBias: Bool

    /// A layer of `units` with Keras' defaults.
    public init(_ units: Int, activation: ActivationFunction = .tanh, recurrentActivation: ActivationFunction = .sigmoid,
                useBias: Bool = true, unitForgetBias: Bool = true, returnSequences: Bool = false, returnState: Bool = false,
                goBackwards: Bool = false, kernelInitializer: Initializer = .glorotUniform,
                recurrentInitializer: Initializer = .orthogonal(), biasInitializer: Initializer = .zeros, dropout: Float = 0,
                recurrentDropout: Float = 0, kernelRegularizer: Regularizer? = nil,
                recurrentRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                activityRegularizer: Regularizer? = nil, kernelConstraint: Constraint? = nil,
                recurrentConstraint: Constraint? = nil, biasConstraint: Constraint? = nil, name: String? = nil) {
        self.recurrentActivation = recurrentActivation
        self.unitForgetBias = unitForgetBias
        super.init(units: units, activation: activation, useBias: useBias, returnSequences: returnSequences,
                   returnState: returnState, goBackwards: goBackwards, kernelInitializer: kernelInitializer,
                   recurrentInitializer: recurrentInitializer, biasInitializer: biasInitializer, dropout: dropout,
                   recurrentDropout: recurrentDropout, name: name)
        regularize(kernel: (kernelRegularizer, kernelConstraint), recurrent: (recurrentRegularizer, recurrentConstraint),
                   bias: (biasRegularizer, biasConstraint), activity: activityRegularizer)
    }

    override var gates: Int { 4 }
    override var stateCount: Int { 2 }

    override public var config: [String: JSONValue] {
        super.config.merging(["recurrent_activation": recurrentActivation.config, "unit_forget_bias": .bool(unitForgetBias)]) { $1 }
    }

    override func initialBias() throws -> Tensor {
        guard unitForgetBias else { return try super.initialBias() }
        let input = try biasInitializer.tensor(shape: [units]), rest = try biasInitializer.tensor(shape: [2 * units])
        return try Tensor(shape: [4 * units], scalars: input.scalars + [Float](repeating: 1, count: units) + rest.scalars)
    }

    override func step(states: [Node], input: Node, recurrent: StateProducts, recurrentBias: Node?) throws -> [Node] {
        let z = try input + recurrent.product(0..<4)
        func gate(_ k: Int) throws -> Node { try slice(z, starts: [0, k * units], sizes: [-1, units]) }
        let i = try recurrentActivation.apply(gate(0)), f = try recurrentActivation.apply(gate(1))
        let candidate = try activation.apply(gate(2)), o = try recurrentActivation.apply(gate(3))
        let c = try f * states[1] + i * candidate
        return [try o * activation.apply(c), c]
    }
}

/// Gated recurrent unit (Keras' `GRU`): gates `z, r, h` in that order in the kernels'
/// columns, `h' = z·h + (1 - z)·tanh(x_h + r·(h·U_h + b'_h))` with `z = σ(x_z + h·U_z + b'_z)`
/// and `r` likewise (`resetAfter`, Keras' default: the reset gate applied after the
/// recurrent product, with a second bias row `b'`), or `tanh(x_h + (r·h)·U_h)` without it.
///
/// Shapes: input `[batch, steps, features]`; output `[batch, units]` or, with
/// `returnSequences`, `[batch, steps, units]`. Weights: `kernel` `[features, 3·units]`,
/// `recurrent_kernel` `[units, 3·units]`, `bias` `[2, 3·units]` (input and recurrent rows;
/// `[3·units]` without `resetAfter`).
public final class GRU: Recurrent {
    /// The gates' activation (Keras: sigmoid).
    public let recurrentActivation: ActivationFunction
    /// Whether the reset gate multiplies the recurrent product (Keras' default) or the state.
    public let resetAfter: Bool

    /// A layer of `units` with Keras' defaults.
    public init(_ units: Int, activation: ActivationFunction = .tanh, recurrentActivation: ActivationFunction = .sigmoid,
                useBias: Bool = true, resetAfter: Bool = true, returnSequences: Bool = false, returnState: Bool = false,
                goBackwards: Bool = false, kernelInitializer: Initializer = .glorotUniform,
                recurrentInitializer: Initializer = .orthogonal(), biasInitializer: Initializer = .zeros, dropout: Float = 0,
                recurrentDropout: Float = 0, kernelRegularizer: Regularizer? = nil,
                recurrentRegularizer: Regularizer? = nil, biasRegularizer: Regularizer? = nil,
                activityRegularizer: Regularizer? = nil, kernelConstraint: Constraint? = nil,
                recurrentConstraint: Constraint? = nil, biasConstraint: Constraint? = nil, name: String? = nil) {
        self.recurrentActivation = recurrentActivation
        self.resetAfter = resetAfter
        super.init(units: units, activation: activation, useBias: useBias, returnSequences: returnSequences,
                   returnState: returnState, goBackwards: goBackwards, kernelInitializer: kernelInitializer,
                   recurrentInitializer: recurrentInitializer, biasInitializer: biasInitializer, dropout: dropout,
                   recurrentDropout: recurrentDropout, name: name)
        regularize(kernel: (kernelRegularizer, kernelConstraint), recurrent: (recurrentRegularizer, recurrentConstraint),
                   bias: (biasRegularizer, biasConstraint), activity: activityRegularizer)
    }

    override var gates: Int { 3 }
    override var biasShape: [Int] { resetAfter ? [2, 3 * units] : [3 * units] }

    override public var config: [String: JSONValue] {
        super.config.merging(["recurrent_activation": recurrentActivation.config, "reset_after": .bool(resetAfter)]) { $1 }
    }

    override func inputBias(_ bias: Node) throws -> Node {
        guard resetAfter else { return bias }
        return try reshape(slice(bias, starts: [0, 0], sizes: [1, 3 * units]), to: [Dim.size(3 * units)])
    }

    override func recurrentBias(_ bias: Node) throws -> Node? {
        guard resetAfter else { return nil }
        return try reshape(slice(bias, starts: [1, 0], sizes: [1, 3 * units]), to: [Dim.size(3 * units)])
    }

    override func step(states: [Node], input: Node, recurrent: StateProducts, recurrentBias: Node?) throws -> [Node] {
        let h = states[0]
        func part(_ x: Node, _ k: Int) throws -> Node { try slice(x, starts: [0, k * units], sizes: [-1, units]) }
        let z: Node, candidate: Node
        if resetAfter {
            var inner = try recurrent.product(0..<3)
            if let recurrentBias { inner = try inner + recurrentBias }
            z = try recurrentActivation.apply(part(input, 0) + part(inner, 0))
            let r = try recurrentActivation.apply(part(input, 1) + part(inner, 1))
            candidate = try activation.apply(part(input, 2) + r * part(inner, 2))
        } else {
            let inner = try recurrent.product(0..<2)
            z = try recurrentActivation.apply(part(input, 0) + part(inner, 0))
            let r = try recurrentActivation.apply(part(input, 1) + part(inner, 1))
            let stateKernel = try slice(recurrent.kernel, starts: [0, 2 * units], sizes: [units, units])
            candidate = try activation.apply(part(input, 2) + matmul(r * recurrent.masked(2), stateKernel))
        }
        return [try z * h + (h.graph.constant(1) - z) * candidate]
    }
}
