import KilnGraph

/// Adagrad (Keras' defaults: learning rate 0.001, accumulators starting at 0.1, ε 1e-7).
public final class Adagrad: Optimizer {
    /// The starting value of every squared-gradient accumulator.
    public let initialAccumulatorValue: Float
    /// Added to the accumulator before the square root.
    public let epsilon: Float

    /// Adagrad with a fixed learning rate.
    public convenience init(learningRate: Float = 0.001, initialAccumulatorValue: Float = 0.1, epsilon: Float = 1e-7,
                            weightDecay: Float? = nil) {
        self.init(rate: .fixed(learningRate), initialAccumulatorValue: initialAccumulatorValue, epsilon: epsilon,
                  weightDecay: weightDecay)
    }

    /// Adagrad whose learning rate follows `schedule`.
    public convenience init(schedule: any LearningRateSchedule, initialAccumulatorValue: Float = 0.1,
                            epsilon: Float = 1e-7, weightDecay: Float? = nil) {
        self.init(rate: .scheduled(schedule), initialAccumulatorValue: initialAccumulatorValue, epsilon: epsilon,
                  weightDecay: weightDecay)
    }

    init(rate: Rate, initialAccumulatorValue: Float, epsilon: Float, weightDecay: Float?) {
        self.initialAccumulatorValue = initialAccumulatorValue
        self.epsilon = epsilon
        super.init(name: "adagrad", rate: rate, weightDecay: weightDecay)
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
