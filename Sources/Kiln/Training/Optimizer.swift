import KilnGraph

/// How training changes the weights from their gradients, with Keras' update rules and
/// defaults. The update runs inside the compiled training step.
///
/// The learning rate lives in a variable of the step, so it can be read and set between
/// epochs (``ReduceLROnPlateau`` does) without compiling again.
open class Optimizer {
    /// The optimizer's name, the prefix of its state variables (`adam/iterations`).
    public let name: String
    /// Decoupled weight decay: each step first subtracts `weight * weightDecay * learningRate`.
    public let weightDecay: Float?
    /// A schedule giving the learning rate at each step; when set, it replaces the fixed rate.
    public let schedule: (any LearningRateSchedule)?
    private var fixedRate: Float
    /// The store of the model the optimizer trains, once compiled.
    var store: VariableStore?

    /// An optimizer called `name` with a fixed learning rate.
    public init(name: String, learningRate: Float, weightDecay: Float? = nil) {
        self.name = name
        self.fixedRate = learningRate
        self.weightDecay = weightDecay
        schedule = nil
    }

    /// An optimizer called `name` whose learning rate follows `schedule`.
    public init(name: String, schedule: any LearningRateSchedule, weightDecay: Float? = nil) {
        self.name = name
        self.fixedRate = schedule.rate(at: 0)
        self.weightDecay = weightDecay
        self.schedule = schedule
    }

    var iterationsVariable: String { "\(name)/iterations" }
    var learningRateVariable: String { "\(name)/learning_rate" }

    /// The number of steps applied so far.
    public var iterations: Int {
        (try? store?.value(iterationsVariable).scalars[0]).flatMap { $0.map(Int.init) } ?? 0
    }

    /// The learning rate of the next step. Setting it (between epochs) takes effect at once;
    /// with a ``schedule``, reading gives the scheduled rate and setting has no effect.
    public var learningRate: Float {
        get {
            if let schedule { return schedule.rate(at: iterations) }
            if let store, let value = try? store.value(learningRateVariable).scalars[0] { return value }
            return fixedRate
        }
        set {
            fixedRate = newValue
            try? store?.setValue(Tensor(newValue), for: learningRateVariable)
        }
    }

    /// Keras' configuration of the optimizer, to save with a model.
    open var config: [String: JSONValue] {
        var config: [String: JSONValue] = ["name": .string(name), "learning_rate": .number(Double(learningRate))]
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

    /// Adds the assigns of one step to `graph`: every weight, the slots, and the iteration count.
    func apply(to graph: Graph, weights: [(path: String, node: Node)], gradients: [Node]) throws {
        let iterations = try graph.variable(iterationsVariable, initialValue: Tensor(Float(0)))
        let rate: Node
        if let schedule {
            rate = try schedule.rate(at: iterations)
        } else {
            rate = try graph.variable(learningRateVariable, initialValue: Tensor(fixedRate))
        }
        let step = try iterations + 1
        for ((path, weight), gradient) in zip(weights, gradients) {
            var current = weight
            if let weightDecay, weightDecay != 0 { current = try weight - weight * rate * weightDecay }
            let slots = Slots(graph: graph, prefix: "\(name)/\(path)", shape: weight.shape.staticSizes ?? [])
            _ = try graph.assign(weight, update(current, gradient: gradient, learningRate: rate, step: step, slots: slots))
        }
        _ = try graph.assign(iterations, step)
    }

    /// The optimizer a saved configuration describes.
    static func make(config: [String: JSONValue]) throws -> Optimizer {
        let reader = ConfigReader(config, context: "optimizer")
        let rate = try reader.float("learning_rate")
        let decay = config["weight_decay"]?.number.map(Float.init)
        switch try reader.string("name") {
        case "sgd":
            return SGD(learningRate: rate, momentum: try reader.float("momentum"), nesterov: try reader.bool("nesterov"))
        case "adam":
            return Adam(learningRate: rate, beta1: try reader.float("beta_1"), beta2: try reader.float("beta_2"),
                        epsilon: try reader.float("epsilon"))
        case "adamw":
            return AdamW(learningRate: rate, weightDecay: decay ?? 0.004, beta1: try reader.float("beta_1"),
                         beta2: try reader.float("beta_2"), epsilon: try reader.float("epsilon"))
        case "rmsprop":
            return RMSprop(learningRate: rate, rho: try reader.float("rho"), momentum: try reader.float("momentum"),
                           epsilon: try reader.float("epsilon"), centered: try reader.bool("centered"))
        case "adagrad":
            return Adagrad(learningRate: rate, initialAccumulatorValue: try reader.float("initial_accumulator_value"),
                           epsilon: try reader.float("epsilon"))
        case let other:
            throw KilnError(.file, "unknown optimizer \(String(reflecting: other))")
        }
    }
}

/// Stochastic gradient descent, with optional momentum and Nesterov momentum (Keras' `SGD`,
/// learning rate 0.01).
public final class SGD: Optimizer {
    public let momentum: Float
    public let nesterov: Bool

    public init(learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float? = nil) {
        self.momentum = momentum
        self.nesterov = nesterov
        super.init(name: "sgd", learningRate: learningRate, weightDecay: weightDecay)
    }

    override public var config: [String: JSONValue] {
        super.config.merging(["momentum": .number(Double(momentum)), "nesterov": .bool(nesterov)]) { $1 }
    }

    override public func update(_ weight: Node, gradient: Node, learningRate: Node, step: Node, slots: Slots) throws -> Node {
        guard momentum != 0 else { return try weight - gradient * learningRate }
        let velocity = try slots.variable("momentum")
        let next = try velocity * momentum - gradient * learningRate
        _ = try weight.graph.assign(velocity, next)
        return nesterov ? try weight + (next * momentum - gradient * learningRate) : try weight + next
    }
}

/// Adam (Keras' defaults: learning rate 0.001, β1 0.9, β2 0.999, ε 1e-7).
public class Adam: Optimizer {
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float

    public init(learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7,
                weightDecay: Float? = nil) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        super.init(name: "adam", learningRate: learningRate, weightDecay: weightDecay)
    }

    public init(schedule: any LearningRateSchedule, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        super.init(name: "adam", schedule: schedule)
    }

    init(name: String, learningRate: Float, weightDecay: Float, beta1: Float, beta2: Float, epsilon: Float) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        super.init(name: name, learningRate: learningRate, weightDecay: weightDecay)
    }

    override public var config: [String: JSONValue] {
        super.config.merging(["beta_1": .number(Double(beta1)), "beta_2": .number(Double(beta2)),
                              "epsilon": .number(Double(epsilon))]) { $1 }
    }

    override public func update(_ weight: Node, gradient: Node, learningRate: Node, step: Node, slots: Slots) throws -> Node {
        let graph = weight.graph
        let alpha = try learningRate * sqrt(1 - pow(graph.constant(beta2), step)) / (1 - pow(graph.constant(beta1), step))
        let m = try slots.variable("m"), v = try slots.variable("v")
        let mNext = try m + (gradient - m) * (1 - beta1)
        let vNext = try v + (square(gradient) - v) * (1 - beta2)
        _ = try graph.assign(m, mNext)
        _ = try graph.assign(v, vNext)
        return try weight - (mNext * alpha) / (sqrt(vNext) + epsilon)
    }
}

/// Adam with decoupled weight decay (Keras' `AdamW`, weight decay 0.004).
public final class AdamW: Adam {
    public init(learningRate: Float = 0.001, weightDecay: Float = 0.004, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-7) {
        super.init(name: "adamw", learningRate: learningRate, weightDecay: weightDecay, beta1: beta1, beta2: beta2,
                   epsilon: epsilon)
    }
}

/// RMSprop (Keras' defaults: learning rate 0.001, ρ 0.9, no momentum, ε 1e-7, not centred).
public final class RMSprop: Optimizer {
    public let rho: Float
    public let momentum: Float
    public let epsilon: Float
    public let centered: Bool

    public init(learningRate: Float = 0.001, rho: Float = 0.9, momentum: Float = 0, epsilon: Float = 1e-7,
                centered: Bool = false, weightDecay: Float? = nil) {
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered
        super.init(name: "rmsprop", learningRate: learningRate, weightDecay: weightDecay)
    }

    override public var config: [String: JSONValue] {
        super.config.merging(["rho": .number(Double(rho)), "momentum": .number(Double(momentum)),
                              "epsilon": .number(Double(epsilon)), "centered": .bool(centered)]) { $1 }
    }

    override public func update(_ weight: Node, gradient: Node, learningRate: Node, step: Node, slots: Slots) throws -> Node {
        let graph = weight.graph
        let velocity = try slots.variable("velocity")
        let velocityNext = try velocity * rho + square(gradient) * (1 - rho)
        _ = try graph.assign(velocity, velocityNext)
        var denominator = try velocityNext + epsilon
        if centered {
            let average = try slots.variable("average_gradient")
            let averageNext = try average * rho + gradient * (1 - rho)
            _ = try graph.assign(average, averageNext)
            denominator = try velocityNext - square(averageNext) + epsilon
        }
        let increment = try learningRate * gradient / sqrt(denominator)
        guard momentum > 0 else { return try weight - increment }
        let momentumSlot = try slots.variable("momentum")
        let momentumNext = try momentumSlot * momentum + increment
        _ = try graph.assign(momentumSlot, momentumNext)
        return try weight - momentumNext
    }
}

/// Adagrad (Keras' defaults: learning rate 0.001, accumulators starting at 0.1, ε 1e-7).
public final class Adagrad: Optimizer {
    public let initialAccumulatorValue: Float
    public let epsilon: Float

    public init(learningRate: Float = 0.001, initialAccumulatorValue: Float = 0.1, epsilon: Float = 1e-7,
                weightDecay: Float? = nil) {
        self.initialAccumulatorValue = initialAccumulatorValue
        self.epsilon = epsilon
        super.init(name: "adagrad", learningRate: learningRate, weightDecay: weightDecay)
    }

    override public var config: [String: JSONValue] {
        super.config.merging(["initial_accumulator_value": .number(Double(initialAccumulatorValue)),
                              "epsilon": .number(Double(epsilon))]) { $1 }
    }

    override public func update(_ weight: Node, gradient: Node, learningRate: Node, step: Node, slots: Slots) throws -> Node {
        let accumulator = try slots.variable("accumulator", initial: initialAccumulatorValue)
        let next = try accumulator + square(gradient)
        _ = try weight.graph.assign(accumulator, next)
        return try weight - learningRate * gradient / sqrt(next + epsilon)
    }
}

/// A learning rate that depends on the step number.
public protocol LearningRateSchedule: Sendable {
    /// The rate at step `step` (0 for the first), computed in the training graph from the
    /// optimizer's `f32` iteration count.
    func rate(at step: Node) throws -> Node
    /// The same rate, computed in Swift.
    func rate(at step: Int) -> Float
}

/// `initialLearningRate * decayRate ^ (step / decaySteps)`, the exponent floored when
/// `staircase` (Keras' `ExponentialDecay`).
public struct ExponentialDecay: LearningRateSchedule {
    public let initialLearningRate: Float
    public let decaySteps: Int
    public let decayRate: Float
    public let staircase: Bool

    public init(initialLearningRate: Float, decaySteps: Int, decayRate: Float, staircase: Bool = false) {
        self.initialLearningRate = initialLearningRate
        self.decaySteps = Swift.max(1, decaySteps)
        self.decayRate = decayRate
        self.staircase = staircase
    }

    public func rate(at step: Node) throws -> Node {
        var exponent = try step / Float(decaySteps)
        if staircase { exponent = try floor(exponent) }
        return try pow(step.graph.constant(decayRate), exponent) * initialLearningRate
    }

    public func rate(at step: Int) -> Float {
        var exponent = Float(step) / Float(decaySteps)
        if staircase { exponent.round(.down) }
        return initialLearningRate * Math.pow(decayRate, exponent)
    }
}
