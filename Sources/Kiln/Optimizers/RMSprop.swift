import KilnGraph

/// RMSprop (Keras' defaults: learning rate 0.001, ρ 0.9, no momentum, ε 1e-7, not centred).
public final class RMSprop: Optimizer {
    /// The decay of the squared gradients' moving average.
    public let rho: Float
    /// The weight of the previous step in each step.
    public let momentum: Float
    /// Added to the denominator for stability.
    public let epsilon: Float
    /// Whether the gradients' variance (not their second moment) normalises the step.
    public let centered: Bool

    /// RMSprop with a fixed learning rate.
    public convenience init(learningRate: Float = 0.001, rho: Float = 0.9, momentum: Float = 0, epsilon: Float = 1e-7,
                            centered: Bool = false, weightDecay: Float? = nil) {
        self.init(rate: .fixed(learningRate), rho: rho, momentum: momentum, epsilon: epsilon, centered: centered,
                  weightDecay: weightDecay)
    }

    /// RMSprop whose learning rate follows `schedule`.
    public convenience init(schedule: any LearningRateSchedule, rho: Float = 0.9, momentum: Float = 0,
                            epsilon: Float = 1e-7, centered: Bool = false, weightDecay: Float? = nil) {
        self.init(rate: .scheduled(schedule), rho: rho, momentum: momentum, epsilon: epsilon, centered: centered,
                  weightDecay: weightDecay)
    }

    init(rate: Rate, rho: Float, momentum: Float, epsilon: Float, centered: Bool, weightDecay: Float?) {
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered
        super.init(name: "rmsprop", rate: rate, weightDecay: weightDecay)
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
