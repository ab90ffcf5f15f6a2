import KilnGraph

/// Stochastic gradient descent, with optional momentum and Nesterov momentum (Keras' `SGD`,
/// learning rate 0.01).
public final class SGD: Optimizer {
    /// The weight of the previous step in each step (0: plain gradient descent).
    public let momentum: Float
    /// Whether the gradient is taken at the point momentum leads to (Nesterov).
    public let nesterov: Bool

    /// SGD with a fixed learning rate.
    public convenience init(learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false,
                            weightDecay: Float? = nil) {
        self.init(rate: .fixed(learningRate), momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
    }

    /// SGD whose learning rate follows `schedule`.
    public convenience init(schedule: any LearningRateSchedule, momentum: Float = 0, nesterov: Bool = false,
                            weightDecay: Float? = nil) {
        self.init(rate: .scheduled(schedule), momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
    }

    init(rate: Rate, momentum: Float, nesterov: Bool, weightDecay: Float?) {
        self.momentum = momentum
        self.nesterov = nesterov
        super.init(name: "sgd", rate: rate, weightDecay: weightDecay)
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
