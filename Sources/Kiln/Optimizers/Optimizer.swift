import KilnGraph

/// How training changes the weights from their gradients, with Keras' update rules and
/// defaults. The update runs inside the compiled training step.
///
/// The learning rate lives in a variable of the step, so it can be read and set between
/// epochs (``ReduceLROnPlateau`` does) without compiling again.
///
/// The optimizer owns its state (iteration count, learning rate, per-weight slots such as
/// Adam's moments), as in Keras: `compile` with a new optimizer starts from nothing, and
/// `compile` with the same optimizer again carries on where it stopped.
open class Optimizer {
    /// The optimizer's name, the prefix of its state variables (`adam/iterations`).
    public let name: String
    /// The prefix of the optimizer's state variables: its name, or `adam_1`, … for a second
    /// optimizer of the same kind in one training step.
    var statePrefix: String
    /// Decoupled weight decay: each step first subtracts `weight * weightDecay * learningRate`.
    public let weightDecay: Float?
    /// The learning rate as given: a number, or a schedule.
    enum Rate {
        case fixed(Float)
        case scheduled(any LearningRateSchedule)
    }

    /// The learning rate as given (a fixed rate changes when ``learningRate`` is set).
    private(set) var rate: Rate
    /// Where the optimizer's state variables live: the store of the model it was last
    /// compiled into, or a store of its own once another optimizer replaced it there.
    var store: VariableStore?

    /// An optimizer called `name` with a fixed learning rate.
    public init(name: String, learningRate: Float, weightDecay: Float? = nil) {
        self.name = name
        statePrefix = name
        self.weightDecay = weightDecay
        rate = .fixed(learningRate)
    }

    /// An optimizer called `name` whose learning rate follows `schedule`.
    public init(name: String, schedule: any LearningRateSchedule, weightDecay: Float? = nil) {
        self.name = name
        statePrefix = name
        self.weightDecay = weightDecay
        rate = .scheduled(schedule)
    }

    /// An optimizer called `name` with `rate`: what the built-in optimizers' initialisers
    /// and saved configurations come to.
    init(name: String, rate: Rate, weightDecay: Float?) {
        self.name = name
        statePrefix = name
        self.weightDecay = weightDecay
        self.rate = rate
    }

    /// A schedule giving the learning rate at each step; when set, it replaces the fixed rate.
    public var schedule: (any LearningRateSchedule)? {
        if case .scheduled(let schedule) = rate { schedule } else { nil }
    }

    var iterationsVariable: String { "\(statePrefix)/iterations" }
    var learningRateVariable: String { "\(statePrefix)/learning_rate" }

    /// The number of steps applied so far.
    public var iterations: Int {
        guard let value = try? store?.value(iterationsVariable).scalars.first, value.isFinite, value >= 0 else { return 0 }
        return Int(value)
    }

    /// The learning rate of the next step. Setting it (between epochs) takes effect at once;
    /// with a ``schedule``, reading gives the scheduled rate and setting has no effect.
    public var learningRate: Float {
        get {
            switch rate {
            case .scheduled(let schedule):
                return schedule.rate(at: iterations)
            case .fixed(let value):
                return (try? store?.value(learningRateVariable).scalars[0]) ?? value
            }
        }
        set {
            guard case .fixed = rate else { return }
            rate = .fixed(newValue)
            try? store?.setValue(Tensor(newValue), for: learningRateVariable)
        }
    }

    /// Keras' configuration of the optimizer, to save with a model: `learning_rate` is a
    /// number, or the schedule's configuration (`null` for a schedule Kiln cannot save).
    open var config: [String: JSONValue] {
        var config: [String: JSONValue] = ["name": .string(name)]
        switch rate {
        case .scheduled(let schedule): config["learning_rate"] = LearningRateSchedules.config(schedule) ?? .null
        case .fixed: config["learning_rate"] = .number(Double(learningRate))
        }
        if let weightDecay { config["weight_decay"] = .number(Double(weightDecay)) }
        return config
    }

    /// The state of one weight: a variable named `name/weight/slot`, starting at `initial`.
    public struct Slots {
        let graph: Graph
        let prefix: String
        let shape: [Int]

        /// The slot variable called `slot`, filled with `initial`.
        public func variable(_ slot: String, initial: Float = 0) throws -> Node {
            try graph.variable("\(prefix)/\(slot)", initialValue: Tensor(shape: shape, repeating: initial))
        }
    }

    /// The weight's next value. Override for a new optimizer; add slot variables with
    /// `slots` and their updates with `graph.assign`.
    ///
    /// - Parameters:
    ///   - weight: The weight's current value (after weight decay).
    ///   - gradient: The loss's gradient for it.
    ///   - learningRate: The step's learning rate.
    ///   - step: The 1-based number of this step, as `f32`.
    open func update(_ weight: Node, gradient: Node, learningRate: Node, step: Node, slots: Slots) throws -> Node {
        try weight - gradient * learningRate
    }

    /// Adds one step of the optimizer to `graph`: the update of every weight (an assign), of
    /// its slots, and of the iteration count. Models do this in `fit`; a graph built by hand
    /// can use it to train with Kiln's optimizers.
    ///
    /// ```swift
    /// let gradients = try g.gradients(of: loss, wrt: [w, b])
    /// try Adam().apply(to: g, weights: [("w", w), ("b", b)], gradients: gradients)
    /// ```
    ///
    /// - Parameters:
    ///   - weights: Each weight's variable node with the name its slots are filed under.
    ///   - gradients: The loss's gradient for each weight, in the same order.
    ///   - constraints: Each weight's constraint, applied to its updated value (none when empty).
    /// - Throws: ``KilnError`` if a gradient's shape differs from its weight's.
    public func apply(to graph: Graph, weights: [(path: String, node: Node)], gradients: [Node],
                      constraints: [Constraint?] = []) throws {
        let iterations = try graph.variable(iterationsVariable, initialValue: Tensor(Float(0)))
        let learningRate: Node
        switch rate {
        case .scheduled(let schedule): learningRate = try schedule.rate(at: iterations)
        case .fixed(let value): learningRate = try graph.variable(learningRateVariable, initialValue: Tensor(value))
        }
        let step = try iterations + 1
        for (index, ((path, weight), gradient)) in zip(weights, gradients).enumerated() {
            var current = weight
            if let weightDecay, weightDecay != 0 { current = try weight - weight * learningRate * weightDecay }
            let slots = Slots(graph: graph, prefix: "\(statePrefix)/\(path)", shape: weight.shape.staticSizes ?? [])
            var next = try update(current, gradient: gradient, learningRate: learningRate, step: step, slots: slots)
            // As Keras: the constraint projects the updated value.
            if index < constraints.count, let constraint = constraints[index] { next = try constraint.apply(next) }
            _ = try graph.assign(weight, next)
        }
        _ = try graph.assign(iterations, step)
    }
}
